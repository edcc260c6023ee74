// The remote PC changes its resolution during a session: in both renderers
// the picture arrives at the new size and a pointer on it lands on the
// matching point of the new screen.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, near, remotePixel, screenPoint, signedInPage, startWithDevice, waitFor, waitOnline,
} from './harness.mjs';

after(cleanup);

for (const render of ['video', 'webcodecs']) {
  test(`the picture and the pointer follow a change of resolution (${render})`, async () => {
    // The probe is larger than the first screen, so that it covers every later one.
    const { server, alice, browser, x, deviceId } = await startWithDevice({
      resizable: true, probe: { color: '00ff00', width: 1920, height: 1080 },
    });
    await waitOnline(server, alice, deviceId);
    const page = await signedInPage(browser, server);
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
