// Sharing from the owner's page: a view-only user sees the device appear
// live, can watch but not control, and loses the device and the session
// the moment the owner revokes the share.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createUser, hex, near, onlineDevice, remotePixel, screenPoint, signedInPage, startWithDevice, waitFor,
} from './harness.mjs';

after(cleanup);

test('a view share lets a second user watch, not control, until revoked', async () => {
  const { server, browser, x, probe, deviceId } = await startWithDevice({ name: 'studio-pc', probe: { color: '00ff00' } });
  await createUser(server, 'bob');
  const owner = await signedInPage(browser, server, 'alice');
  const viewer = await signedInPage(browser, server, 'bob');
  await viewer.getByText('No devices yet.').waitFor();

  // Alice shares, view only, through the dialog.
  const mine = onlineDevice(owner, deviceId);
  await mine.waitFor();
  await mine.getByRole('button', { name: 'Share studio-pc' }).click();
  const dialog = owner.getByRole('dialog');
  await dialog.getByText('Only you.').waitFor();
  await dialog.getByLabel('Username').fill('nobody-here');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.getByRole('alert').filter({ hasText: /user/i }).waitFor();
  await dialog.getByLabel('Username').fill('bob');
  await dialog.getByLabel('Access', { exact: true }).selectOption('view');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.locator('.shares li', { hasText: 'bob' }).getByText('view only').waitFor();

  // Bob's list shows it without a reload, with his right and the owner.
  const shared = viewer.locator(`[data-device-id="${deviceId}"]`);
  await shared.filter({ hasText: 'view only, shared by alice' }).waitFor();
  await onlineDevice(viewer, deviceId).waitFor();
  assert.equal(await shared.getByRole('button', { name: 'Share studio-pc' }).count(), 0, 'no owner actions');

  // He can watch, and the session says it is view only.
  await shared.getByRole('button', { name: /Connect/ }).click();
  await waitFor('the green screen', async () => near(await remotePixel(viewer, 0.5, 0.5), hex(0x00ff00)));
  assert.equal(await viewer.getByTestId('session-mode').textContent(), 'View only');
  assert.ok(await viewer.getByRole('button', { name: 'Ctrl+Alt+Del' }).isDisabled());

  // His clicks and keys do nothing on the remote PC.
  const before = x.pointer();
  const at = await screenPoint(viewer, 0.2, 0.3);
  await viewer.mouse.click(at.x, at.y);
  await viewer.keyboard.type('nope');
  const quietUntil = Date.now() + 1000;
  await waitFor('a quiet second', () => {
    assert.deepEqual(probe.clicks(), [], 'view-only click reached the host');
    assert.equal(probe.typed(), '', 'view-only keys reached the host');
    assert.deepEqual(x.pointer(), before, 'view-only pointer moved');
    return Date.now() > quietUntil;
  });

  // Alice revokes: his session ends and the device leaves his list.
  await dialog.locator('.shares li', { hasText: 'bob' }).getByRole('button', { name: 'Revoke access for bob' }).click();
  await dialog.getByText('Only you.').waitFor();
  await viewer.getByTestId('session-ended').filter({ hasText: 'Your access to this device was revoked.' }).waitFor();
  await viewer.getByRole('button', { name: 'Back to devices' }).click();
  await viewer.getByText('No devices yet.').waitFor();
  await owner.getByTestId('feed').getByText('alice stopped sharing studio-pc with bob').waitFor();
  assert.deepEqual([...owner.errors, ...viewer.errors], []);
});
