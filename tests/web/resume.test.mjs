// The page's WebSocket drops in the middle of a session (it goes through a
// proxy the test cuts, as a proxy reset or a network change would). Media
// is peer to peer and keeps flowing; the page reconnects and resumes the
// session, so the session outlives the server's grace period for a lost
// viewer (3 s here) and the picture stays live.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, near, onlineDevice, probeWindow, remotePixel, signedInPage, startProxy, startWithDevice, waitFor,
} from './harness.mjs';

after(cleanup);

const GRACE_SECS = 3;

test('a dropped WebSocket is resumed and the session goes on', async () => {
  const { server, browser, x, deviceId } = await startWithDevice({
    config: `signup = "open"\nsession_resume_grace_secs = ${GRACE_SECS}\n[relay]\nenabled = false\n`,
    name: 'laptop',
    probe: { color: 'ffff00' },
  });

  // The page knows the server only through the proxy.
  const proxy = await startProxy(server);
  const page = await signedInPage(browser, proxy);
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  const item = onlineDevice(page, deviceId);
  await item.getByRole('button', { name: /Connect/ }).click();
  await waitFor('the yellow screen', async () => near(await remotePixel(page, 0.5, 0.5), hex(0xffff00)));

  proxy.cut();
  await waitFor('the resume', () => server.log().includes('session resumed'));
  await waitFor('the page to log it', () => logs.some((l) => l.includes('session resumed')));
  // Longer than the grace period: without the resume the server would
  // have ended the session by now.
  await new Promise((r) => setTimeout(r, (GRACE_SECS + 2) * 1000));
  assert.ok(!server.log().includes('session not resumed in time'), 'the session was not ended');

  // The picture is still live: a new window on the remote screen shows up.
  await probeWindow(x, { width: 400, height: 300, left: 440, top: 210, color: '00ff00' });
  await waitFor('the green window', async () => near(await remotePixel(page, 0.5, 0.5), hex(0x00ff00)));
  assert.equal(await page.getByTestId('session-ended').count(), 0);
  assert.deepEqual(page.errors, []);
});
