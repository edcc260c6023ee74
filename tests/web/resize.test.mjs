// The remote PC changes its resolution during a session: in both renderers
// the picture arrives at the new size and a pointer on it lands on the
// matching point of the new screen.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createUser, enrollWithToken, hex, launchBrowser, near, newPage, probeWindow, remotePixel, rest,
  screenPoint, signIn, startHost, startServer, startXvfb, waitFor,
} from './harness.mjs';

after(cleanup);

for (const render of ['video', 'webcodecs']) {
  test(`the picture and the pointer follow a change of resolution (${render})`, async () => {
    const server = await startServer();
    const x = await startXvfb(1280, 720, { resizable: true });
    // Larger than the first screen, so that it covers every later one.
    await probeWindow(x, { width: 1920, height: 1080, left: 0, top: 0, color: '00ff00' });
    const alice = await createUser(server, 'alice');
    const { config, deviceId } = await enrollWithToken(server, alice, 'office-pc');
    startHost(x, config);
    await waitFor('the device online', async () => (await rest(server, 'GET', `/devices/${deviceId}`, { token: alice })).online);
    const page = await newPage(await launchBrowser());
    await signIn(page, server, 'alice');
    const query = render === 'video' ? '' : `?render=${render}`;
    await page.goto(`${server.url}/${query}#/session/${encodeURIComponent(deviceId)}`);
    const size = () => page.getByTestId('remote-screen').evaluate((el) => [el.videoWidth ?? el.width, el.videoHeight ?? el.height]);
    const shows = async (w, h) => {
      const [gw, gh] = await size();
      return gw === w && gh === h && near(await remotePixel(page, 0.5, 0.5), hex(0x00ff00));
    };
    await waitFor('the picture at 1280x720', () => shows(1280, 720));

    for (const [w, h] of [[800, 600], [1920, 1080]]) {
      x.resize(w, h);
      await waitFor(`the picture at ${w}x${h}`, () => shows(w, h));
      const at = await screenPoint(page, 0.25, 0.5);
      await page.mouse.move(at.x, at.y);
      await waitFor(`the pointer at a quarter of ${w}x${h}`, () => {
        const p = x.pointer();
        return Math.abs(p.x - w / 4) <= 2 && Math.abs(p.y - h / 2) <= 2;
      });
    }
    assert.deepEqual(page.errors, []);
  });
}
