// A viewer whose network drops all UDP (as some corporate and hotel
// networks do): Chromium, in its own network namespace behind such a
// router, reaches the host through the server's TURN relay over TCP. The
// page comes from another machine, so it must come over HTTPS: the second
// world's server serves a test CA's certificate, which Chromium trusts.
// The topology comes from meshdesk-nat-world (tests/src/bin); root only:
// elsewhere the test fails, or is skipped and counted with
// MESHDESK_ALLOW_SKIP=1 (see skip.mjs).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { bin, cleanup, hex, near, remotePixel, tempDir, waitFor } from './harness.mjs';
import { prerequisiteMet } from './skip.mjs';

let world;
after(async () => {
  await stopWorld();
  await cleanup();
});

/** End the running topology, if any. */
async function stopWorld() {
  world?.stdin.end();
  await new Promise((r) => (world && world.exitCode === null ? world.on('exit', r) : r()));
  world = undefined;
}

/** Start the topology (`--https`: its server over HTTPS); resolves with its description. */
function startWorld(args = []) {
  world = spawn(bin('meshdesk-nat-world'), args, { stdio: ['pipe', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    world.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    world.on('exit', (code) => reject(new Error(`meshdesk-nat-world exited with ${code}`)));
  });
}

/** Chromium inside the viewer's namespace, with `home` as its HOME (an NSS database). */
function launchInNamespace(ns, home) {
  const dir = tempDir('netns-chromium');
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  return chromium.launch({
    executablePath: wrapper,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env: home ? { ...process.env, HOME: home } : process.env,
  });
}

/** Sign in on the app at `w.url` and click Connect on the world's PC. */
async function connect(page, w) {
  const trail = [];
  page.on('console', (m) => trail.push(`console: ${m.text()}`));
  page.on('requestfailed', (r) => trail.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(w.url);
  // Chromium in a fresh namespace sometimes sees the network change while
  // the page loads and aborts what is in flight (ERR_NETWORK_CHANGED, as
  // a CI log of this test showed for a module and /me). The app now
  // recovers from that by itself (load-error.test.mjs); the page
  // document itself can still be hit, so say what the page looked like
  // and load it once more.
  try {
    await page.getByLabel('Username').waitFor({ timeout: 15000 });
  } catch {
    console.log(`no sign-in form after 15 s; page:\n${(await page.content()).slice(0, 2000)}\n${trail.join('\n')}`);
    await page.reload();
  }
  await page.getByLabel('Username').fill(w.username);
  await page.getByLabel('Password').fill(w.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator(`[data-device-id="${w.device_id}"][data-online="true"]`).waitFor();
  await page.locator(`[data-device-id="${w.device_id}"]`).getByRole('button', { name: /Connect/ }).click();
}

test('a viewer without UDP connects through TURN over TCP', { timeout: 120000 }, async (t) => {
  let w = await startWorld();
  if (!prerequisiteMet(t, w.unavailable)) return;
  // The page comes from another machine over plain HTTP, which is not a
  // secure context: no WebCrypto, so the remote PC cannot be verified and
  // the session view says so instead of starting a session.
  let browser = await launchInNamespace(w.viewer_ns);
  try {
    const page = await (await browser.newContext()).newPage();
    await connect(page, w);
    await page.getByTestId('session-ended').getByText(/not a secure connection/).waitFor();
  } finally {
    await browser.close();
  }
  // Served over HTTPS it is one: the same topology, its server with a
  // test CA's certificate for its address, trusted by this browser.
  await stopWorld();
  w = await startWorld(['--https']);
  assert.ok(w.url.startsWith('https://'), w.url);
  browser = await launchInNamespace(w.viewer_ns, w.nss_home);
  try {
    const page = await (await browser.newContext()).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await connect(page, w);
    await waitFor('the green screen', async () => near(await remotePixel(page, 0.5, 0.5), hex(0x00ff00)), 60000);
    await page.getByTestId('session-verified').getByText(/^Verified/).waitFor();
    await waitFor('the stats', async () => (await page.locator('.session').getAttribute('data-path')) === 'relayed');
    assert.equal(await page.locator('.session').getAttribute('data-relay-protocol'), 'tcp');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
