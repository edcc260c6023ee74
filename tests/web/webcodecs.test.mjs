// The opt-in WebCodecs renderer (?render=webcodecs): frames decoded in a
// worker and shown on a canvas must look and behave like the <video> path.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, inputReady, near, probeWindow, remotePixel, screenPoint, signedInPage, startWithDevice, waitFor,
} from './harness.mjs';

after(cleanup);

test('the WebCodecs renderer shows the screen and sends input', async () => {
  const { server, browser, x, deviceId } = await startWithDevice({ name: 'canvas-pc', probe: { color: '00ff00' } });
  const probe = await probeWindow(x, { width: 320, height: 360, left: 0, top: 0, color: 'ff00ff' });
  const page = await signedInPage(browser, server, 'alice', { online: deviceId });

  await page.goto(`${server.url}/?render=webcodecs#/session/${deviceId}`);
  await page.locator('.session[data-render="webcodecs"]').waitFor();
  assert.equal(await page.getByTestId('remote-screen').evaluate((el) => el.tagName), 'CANVAS');
  await waitFor('the green screen', async () => near(await remotePixel(page, 0.75, 0.75), hex(0x00ff00)));
  assert.ok(near(await remotePixel(page, 0.1, 0.2), hex(0xff00ff)), 'the magenta window top left');

  await inputReady(page);
  const at = await screenPoint(page, 0.125, 0.25);
  await page.mouse.click(at.x, at.y);
  await waitFor('the click', () => probe.clicks().length > 0);
  const [, cx, cy] = probe.clicks()[0];
  assert.ok(Math.abs(cx - 160) <= 2 && Math.abs(cy - 180) <= 2, `clicked at ${cx},${cy}`);
  await waitFor('stats from the page decoder', async () => / \d+ fps/.test(await page.getByTestId('session-stats').textContent()));
  assert.match(await page.getByTestId('session-stats').textContent(), /^1280×720/);
  assert.deepEqual(page.errors, []);
});
