// The remote PC going away, and names that try to be HTML.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createUser, enrollWithToken, hex, launchBrowser, near, newPage, onlineDevice, remotePixel, signedInPage,
  signIn, startServer, startWithDevice, waitFor,
} from './harness.mjs';

after(cleanup);

test('stopping the host ends the session and shows the device offline', async () => {
  const { server, browser, deviceId, host } = await startWithDevice({ name: 'laptop', probe: { color: 'ffff00' } });
  const session = await signedInPage(browser, server);
  const list = await session.context().newPage();
  list.errors = [];
  list.on('pageerror', (e) => list.errors.push(e.message));
  await list.goto(server.url);
  await onlineDevice(list, deviceId).waitFor();

  await session.locator(`[data-device-id="${deviceId}"]`).getByRole('button', { name: /Connect/ }).click();
  await waitFor('the yellow screen', async () => near(await remotePixel(session, 0.5, 0.5), hex(0xffff00)));

  await host.stop();
  await list.locator(`[data-device-id="${deviceId}"][data-online="false"]`).waitFor();
  assert.ok(await list.locator(`[data-device-id="${deviceId}"]`).getByRole('button', { name: /Connect/ }).isDisabled());
  const ended = session.getByTestId('session-ended');
  await ended.waitFor();
  assert.match(await ended.textContent(), /The remote PC (ended the session|went offline|disconnected)\./);

  // Asking for a session on an offline device says so.
  await session.getByRole('button', { name: 'Back to devices' }).click();
  await session.goto(`${server.url}/#/session/${deviceId}`);
  await session.getByTestId('session-ended').filter({ hasText: 'The device is offline.' }).waitFor();
  assert.deepEqual([...session.errors, ...list.errors], []);
});

test('a device named like HTML is shown as text and runs nothing', async () => {
  const server = await startServer();
  const alice = await createUser(server, 'alice');
  const { deviceId } = await enrollWithToken(server, alice, 'plain');
  const page = await newPage(await launchBrowser());
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs += 1;
    d.dismiss();
  });
  await signIn(page, server, 'alice');
  const item = page.locator(`[data-device-id="${deviceId}"]`);
  await item.getByRole('button', { name: 'Rename plain' }).click();
  const evil = '<img src=x onerror=alert(1)>';
  await page.getByRole('dialog').getByLabel('Name').fill(evil);
  await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
  await item.getByTestId('device-name').filter({ hasText: evil }).waitFor();
  await page.getByTestId('feed').getByText(`alice renamed ${evil} (was plain)`).waitFor();
  assert.equal(await page.locator('img').count(), 0, 'no element was made from the name');
  assert.equal(dialogs, 0, 'no script ran');
  // The CSP would also block an inline handler; check it is served.
  const res = await fetch(server.url);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  assert.deepEqual(page.errors, []);
});
