// Files between the browser and the remote PC, against the real host:
// a file dropped on the remote screen and files picked with "Send files"
// arrive in the host's receive folder with their SHA-256; a device's Files
// view lists a shared folder, downloads a file (checked) and uploads into
// the folder shown; a view-only user sees no Upload and the host refuses
// a put anyway.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup, createUser, inputReady, newPage, onlineDevice, recordChannels, rest, signIn, startWithDevice, tempDir, waitFor,
} from './harness.mjs';

after(cleanup);

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
/** The test's file content, made the same way here and in the page. */
const pattern = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed + (i >> 13)) & 255);

/** A receive folder and a shared `Documents` (a file, a folder) for the host. */
function folders() {
  const root = tempDir('files');
  const receive = join(root, 'received');
  const docs = join(root, 'Documents');
  mkdirSync(join(docs, 'sub'), { recursive: true });
  const report = pattern(3 * 1024 * 1024 + 77, 5);
  writeFileSync(join(docs, 'report.bin'), report);
  writeFileSync(join(docs, 'sub', 'note.txt'), 'in a sub folder\n');
  const hostConfig = `[files]\nreceive_dir = "${receive}"\nshared = ["${docs}"]`;
  return { receive, docs, report, hostConfig };
}

/** The row of the transfer of `name`, once it ended with `text`. */
function transferEnded(page, name, text) {
  return page.getByTestId('transfer').filter({ has: page.getByTestId('transfer-name').getByText(name) })
    .getByTestId('transfer-status').getByText(text, { exact: true }).waitFor({ timeout: 60000 });
}

test('a file dropped on the remote screen, and files sent with Send files, arrive with their SHA-256', async () => {
  const f = folders();
  const { server, browser, deviceId } = await startWithDevice({ hostConfig: f.hostConfig, probe: { color: '00ff00' } });
  const page = await newPage(browser);
  await signIn(page, server, 'alice');
  await onlineDevice(page, deviceId).getByRole('button', { name: /Connect/ }).click();
  await inputReady(page);
  await page.getByRole('button', { name: 'Send files' }).waitFor();

  // Over the 4 MiB window: the host's acks must let it through.
  const size = 6 * 1024 * 1024 + 1234;
  await page.evaluate(([n]) => {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 9 + (i >> 13)) & 255);
    const dt = new DataTransfer();
    dt.items.add(new File([data], 'dropped.bin', { type: 'application/octet-stream' }));
    const target = document.querySelector('[data-testid="remote-screen"]');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, [size]);
  await transferEnded(page, 'dropped.bin', 'Sent');
  assert.equal(sha(readFileSync(join(f.receive, 'dropped.bin'))), sha(pattern(size, 9)));

  // Two at once with the picker; one of them an empty file.
  await page.getByTestId('send-files-input').setInputFiles([
    { name: 'one.txt', mimeType: 'text/plain', buffer: Buffer.from('first file\n') },
    { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) },
  ]);
  await transferEnded(page, 'one.txt', 'Sent');
  await transferEnded(page, 'empty.txt', 'Sent');
  assert.equal(readFileSync(join(f.receive, 'one.txt'), 'utf8'), 'first file\n');
  assert.equal(readFileSync(join(f.receive, 'empty.txt')).length, 0);
  assert.deepEqual(readdirSync(f.receive).sort(), ['dropped.bin', 'empty.txt', 'one.txt'], 'no partial files left');
  assert.deepEqual(page.errors, []);
});

test('the Files view lists a shared folder, downloads a file checked by SHA-256 and uploads into the folder', async () => {
  const f = folders();
  const { server, browser, deviceId } = await startWithDevice({ hostConfig: f.hostConfig });
  const page = await newPage(browser);
  await signIn(page, server, 'alice');
  await onlineDevice(page, deviceId).getByRole('button', { name: 'Files of office-pc' }).click();
  await page.waitForURL(/#\/files\//);
  const entry = (name) => page.locator(`[data-testid="files-entry"][data-name="${name}"]`);

  // The top level: the shared folders by their last component, no Upload.
  await entry('Documents').waitFor();
  assert.equal(await entry('Documents').getAttribute('data-kind'), 'folder');
  assert.ok(await page.getByTestId('files-upload').isHidden(), 'no Upload at the top');
  await entry('Documents').getByRole('button', { name: 'Documents' }).click();
  await entry('report.bin').waitFor();
  assert.equal(await entry('sub').getAttribute('data-kind'), 'folder', 'folders are listed too');
  assert.match(await page.getByTestId('files-breadcrumb').textContent(), /Shared folders\s*\/\s*Documents/);
  assert.match(await entry('report.bin').textContent(), /3\.1 MB/);

  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 60000 }),
    entry('report.bin').getByRole('button', { name: 'Download report.bin' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'report.bin');
  assert.equal(sha(readFileSync(await download.path())), sha(f.report));
  await transferEnded(page, 'report.bin', 'Downloaded');

  // Upload into the folder shown: it lands there and the listing shows it.
  await page.getByTestId('files-upload-input').setInputFiles({
    name: 'uploaded.txt', mimeType: 'text/plain', buffer: Buffer.from('into Documents\n'),
  });
  await transferEnded(page, 'uploaded.txt', 'Sent');
  assert.equal(readFileSync(join(f.docs, 'uploaded.txt'), 'utf8'), 'into Documents\n');
  await entry('uploaded.txt').waitFor();

  // Into a sub folder, and back up by the breadcrumb.
  await entry('sub').getByRole('button', { name: 'sub' }).click();
  await entry('note.txt').waitFor();
  await page.getByTestId('files-breadcrumb').getByRole('button', { name: 'Shared folders' }).click();
  await entry('Documents').waitFor();
  assert.deepEqual(page.errors, []);
});

test('a view-only user sees no Upload or Send files, and the host refuses a put', async () => {
  const f = folders();
  const { server, alice, browser, deviceId } = await startWithDevice({ hostConfig: f.hostConfig });
  await createUser(server, 'bob');
  await rest(server, 'POST', `/devices/${deviceId}/shares`, { token: alice, body: { username: 'bob', permission: 'view' } });
  const page = await newPage(browser);
  await recordChannels(page.context());
  await signIn(page, server, 'bob');
  await onlineDevice(page, deviceId).getByRole('button', { name: 'Files of office-pc' }).click();
  const entry = (name) => page.locator(`[data-testid="files-entry"][data-name="${name}"]`);
  await entry('Documents').getByRole('button', { name: 'Documents' }).click();
  await entry('report.bin').waitFor();
  assert.ok(await page.getByTestId('files-upload').isHidden(), 'no Upload for a view-only user');
  // He may still fetch.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 60000 }),
    entry('report.bin').getByRole('button', { name: 'Download report.bin' }).click(),
  ]);
  assert.equal(sha(readFileSync(await download.path())), sha(f.report));

  // A page that sends a put anyway is refused by the host.
  await page.evaluate(() => window.__channels.files.send(JSON.stringify({
    type: 'put', id: 4000, name: 'sneaky.txt', size: 1, folder: 'Documents',
  })));
  const refusal = await waitFor('the refusal', () => page.evaluate(() => window.__received.files
    .find((m) => m.id === 4000)));
  assert.equal(refusal.type, 'error', JSON.stringify(refusal));
  assert.match(refusal.message, /control/);
  assert.ok(!existsSync(join(f.docs, 'sneaky.txt')));
  assert.ok(!existsSync(f.receive) || !readdirSync(f.receive).length);

  // In a screen session he gets no Send files either.
  await page.getByRole('button', { name: '← Devices' }).click();
  await onlineDevice(page, deviceId).getByRole('button', { name: /Connect/ }).click();
  await page.getByTestId('session-verified').getByText(/^Verified/).waitFor();
  assert.equal(await page.getByTestId('session-mode').textContent(), 'View only');
  assert.ok(await page.getByRole('button', { name: 'Send files' }).isHidden());
  assert.deepEqual(page.errors, []);
});
