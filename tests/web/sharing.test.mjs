// Sharing from the owner's page: a view-only user sees the device appear
// live, can watch but not control, and loses the device and the session
// the moment the owner revokes the share, told why even when the host's
// end of the session reaches the page before the server's.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createUser, hex, near, newPage, onlineDevice, remotePixel, rest, screenPoint, signIn, signedInPage,
  startWithDevice, waitFor,
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

// The server tells the host that a session ended, then the page. On a busy
// machine the host can close the session's data channels before the
// server's session_end, which says why, reaches the page (seen: 10 to 20 ms
// earlier, about one revoke in two under load). Here the page's socket
// holds that session_end until the channels are closed, so it always
// comes second.
test('a revoke is named as such when the host closes the channels first', async () => {
  const { server, alice, browser, deviceId } = await startWithDevice({ name: 'studio-pc', probe: { color: '00ff00' } });
  await createUser(server, 'bob');
  await rest(server, 'POST', `/devices/${deviceId}/shares`, { token: alice, body: { username: 'bob', permission: 'view' } });
  const viewer = await newPage(browser);
  await viewer.context().addInitScript(() => {
    window.__channelsClosed = false;
    const Pc = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Pc {
      constructor(...args) {
        super(...args);
        this.addEventListener('datachannel', (e) => e.channel.addEventListener('close', () => {
          if (e.channel.label === 'control') window.__channelsClosed = true;
        }));
      }
    };
  });
  let held = false;
  await viewer.routeWebSocket(/\/api\/v1\/ws\/viewer/, (ws) => {
    const upstream = ws.connectToServer();
    ws.onMessage((m) => upstream.send(m));
    // In order; from the session_end on, once the channels are closed.
    let queue = Promise.resolve();
    upstream.onMessage((m) => {
      if (JSON.parse(m).type === 'session_end') {
        queue = queue.then(async () => {
          await waitFor('the host to close the channels', () => viewer.evaluate(() => window.__channelsClosed));
          held = true;
        });
      }
      queue = queue.then(() => ws.send(m)).catch((e) => console.error('socket relay:', e));
    });
  });
  await signIn(viewer, server, 'bob');
  await onlineDevice(viewer, deviceId).getByRole('button', { name: /Connect/ }).click();
  await waitFor('the green screen', async () => near(await remotePixel(viewer, 0.5, 0.5), hex(0x00ff00)));

  await rest(server, 'DELETE', `/devices/${deviceId}/shares/bob`, { token: alice });
  const ended = viewer.getByTestId('session-ended');
  await ended.waitFor();
  await waitFor('the reason', async () => held && (await ended.textContent()) === 'Your access to this device was revoked.', 5000)
    .catch(async (e) => {
      throw new Error(`${e.message}; the page says: ${await ended.textContent()} (held: ${held})`);
    });
  assert.deepEqual(viewer.errors, []);
});

test('a share given for a time shows its end, then ends the session and leaves the list at that time', async () => {
  const { server, alice, browser, deviceId } = await startWithDevice({ name: 'studio-pc', probe: { color: '00ff00' } });
  await createUser(server, 'bob');
  const owner = await signedInPage(browser, server, 'alice', { online: deviceId });
  const viewer = await signedInPage(browser, server, 'bob');

  // The dialog offers an end; a custom end in the past is refused there.
  await onlineDevice(owner, deviceId).getByRole('button', { name: 'Share studio-pc' }).click();
  const dialog = owner.getByRole('dialog');
  await dialog.getByLabel('Username').fill('bob');
  await dialog.getByLabel('Ends', { exact: true }).selectOption('custom');
  await dialog.getByLabel('Ends at').fill('2020-01-01T10:00');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.getByRole('alert').filter({ hasText: 'must be in the future' }).waitFor();
  await dialog.getByLabel('Ends', { exact: true }).selectOption('1h');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.locator('.shares li', { hasText: 'bob' }).locator('.until').filter({ hasText: /^until / }).waitFor();
  const [share] = await rest(server, 'GET', `/devices/${deviceId}/shares`, { token: alice });
  const hour = share.expires_at - Date.now();
  assert.ok(hour > 3_500_000 && hour <= 3_600_000, `ends in ${hour} ms`);
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Given again for a few seconds: bob's session ends when it runs out.
  const ends = new Date(Date.now() + 6000).toISOString();
  await rest(server, 'POST', `/devices/${deviceId}/shares`,
    { token: alice, body: { username: 'bob', permission: 'control', expires_at: ends } });
  await onlineDevice(viewer, deviceId).getByRole('button', { name: /Connect/ }).click();
  await waitFor('the green screen', async () => near(await remotePixel(viewer, 0.5, 0.5), hex(0x00ff00)));
  await viewer.getByTestId('session-ended').filter({ hasText: 'Your access to this device has expired.' }).waitFor();
  assert.ok(Date.now() >= Date.parse(ends), 'ended before its time');
  await viewer.getByRole('button', { name: 'Back to devices' }).click();
  await viewer.getByText('No devices yet.').waitFor();
  await owner.getByTestId('feed').getByText('The share of studio-pc with bob expired').waitFor();
  assert.deepEqual([...owner.errors, ...viewer.errors], []);
});
