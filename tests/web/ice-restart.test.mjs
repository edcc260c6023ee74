// The browser answers an ICE restart: the host makes a new offer (here
// because the page asks, as the native viewer does after its network
// changed), the page answers it, the new path is checked and the picture
// carries on. The browser is the DTLS server in both answers.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, near, newPage, onlineDevice, recordSockets, remotePixel, screenPoint, signIn, startWithDevice,
  waitFor,
} from './harness.mjs';

after(cleanup);

test('an ICE restart keeps the browser session going', async () => {
  const { server, browser, deviceId } = await startWithDevice({ probe: { color: 'ff0000', flip: '0000ff' } });
  const page = await newPage(browser);
  // Keep the page's viewer socket and what it sends, its peer connection
  // and the ICE states that one goes through.
  await recordSockets(page.context());
  await page.context().addInitScript(() => {
    window.__ice = [];
    const Pc = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Pc {
      constructor(...args) {
        super(...args);
        window.__pc = this;
        this.addEventListener('iceconnectionstatechange', () => window.__ice.push(this.iceConnectionState));
      }
    };
  });
  await signIn(page, server, 'alice');
  await onlineDevice(page, deviceId).waitFor();
  await page.goto(`${server.url}/#/session/${deviceId}`);
  await waitFor('the red screen', async () => near(await remotePixel(page, 0.5, 0.5), hex(0xff0000)));

  const answers = async () => (await page.evaluate(() => window.__sockets.flatMap((s) => s.sent)))
    .filter((m) => m.type === 'answer');
  const ufrag = (sdp) => sdp.match(/^a=ice-ufrag:(\S+)/m)[1];
  const [first] = await answers();
  assert.match(first.sdp, /^a=setup:passive\r?$/m);
  assert.doesNotMatch(first.sdp, /^a=setup:active/m);

  await page.evaluate((sid) => window.__sockets.at(-1).send(JSON.stringify({ type: 'restart_ice', session_id: sid })),
    first.session_id);
  await waitFor('the answer to the new offer', async () => (await answers()).length >= 2);
  const second = (await answers())[1];
  assert.notEqual(ufrag(second.sdp), ufrag(first.sdp), 'new ICE credentials');
  assert.match(second.sdp, /^a=setup:passive\r?$/m, 'the DTLS role stays');
  // Media now goes over a pair checked with the new credentials.
  const selectedUfrag = () => page.evaluate(async () => {
    const stats = await window.__pc.getStats();
    let pair = null;
    stats.forEach((s) => { if (s.type === 'transport') pair = stats.get(s.selectedCandidatePairId); });
    return pair ? stats.get(pair.localCandidateId)?.usernameFragment : null;
  });
  await waitFor('a pair with the new credentials', async () => (await selectedUfrag()) === ufrag(second.sdp));
  assert.equal((await page.evaluate(() => window.__ice)).at(-1), 'connected');

  // The picture still follows the screen.
  const at = await screenPoint(page, 0.5, 0.5);
  await page.mouse.click(at.x, at.y);
  await waitFor('the blue screen after a click', async () => near(await remotePixel(page, 0.5, 0.5), hex(0x0000ff)));
  assert.equal(await page.getByTestId('session-ended').count(), 0);
  assert.deepEqual(page.errors, []);
});
