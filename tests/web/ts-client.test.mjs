// A TypeScript client generated from the served OpenAPI document, as a
// client author would make one: openapi-typescript writes the types,
// openapi-fetch is the client, tsc (strict) must compile a program that
// uses them, and that program, run, signs in with an API token, lists the
// devices and reads the feed of the real server.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { cleanup, createUser, enrollWithToken, rest, startServer } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// Inside tests/web, so the compiled program finds openapi-fetch.
const work = mkdtempSync(join(here, '.ts-client-'));
after(async () => {
  rmSync(work, { recursive: true, force: true });
  await cleanup();
});

const PROGRAM = `
import createClient from 'openapi-fetch';
import type { paths, components } from './api.js';

type Device = components['schemas']['Device'];

export async function summary(baseUrl: string, token: string): Promise<{ devices: string[]; kinds: string[] }> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${token}\` } });
  const devices = await client.GET('/api/v1/devices');
  if (devices.error) throw new Error(devices.error.error);
  const events = await client.GET('/api/v1/events', { params: { query: { limit: 20 } } });
  if (events.error) throw new Error(events.error.error);
  const names: string[] = devices.data.map((d: Device) => \`\${d.name}:\${d.permission}\`);
  // The generated types know the API: a path it lacks does not compile.
  // @ts-expect-error no such path
  await client.GET('/api/v1/no-such-route');
  return { devices: names, kinds: events.data.events.map((e) => e.kind) };
}
`;

function compile(file) {
  const program = ts.createProgram([file], {
    strict: true, noEmitOnError: true, target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true,
  });
  const emitted = program.emit();
  const problems = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  return problems;
}

test('a TypeScript client generated from the OpenAPI document compiles and talks to the server', async () => {
  const server = await startServer();
  const session = await createUser(server, 'alice');
  await enrollWithToken(server, session, 'office-pc');
  const { token } = await rest(server, 'POST', '/tokens', {
    token: session, body: { name: 'ts client', scopes: ['devices:read', 'events:read'] },
  });

  const ast = await openapiTS(new URL(`${server.url}/api/v1/openapi.json`));
  writeFileSync(join(work, 'api.d.ts'), astToString(ast));
  writeFileSync(join(work, 'package.json'), '{"type": "module"}');
  writeFileSync(join(work, 'client.ts'), PROGRAM);
  assert.deepEqual(compile(join(work, 'client.ts')), [], 'the generated client compiles');

  const { summary } = await import(pathToFileURL(join(work, 'client.js')).href);
  const got = await summary(server.url, token);
  assert.deepEqual(got.devices, ['office-pc:owner']);
  assert.ok(got.kinds.includes('device_enrolled'), `feed kinds: ${got.kinds}`);
  await assert.rejects(summary(server.url, 'mdp_not-a-token'), /sign in again/);
});
