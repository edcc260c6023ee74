// A new user's first minutes: sign up, add a device with the command the
// page shows, watch it come online, connect, see and control the remote PC.
// Run twice: over plain HTTP, and over HTTPS served by the server itself
// with a test CA's certificate, which Chromium trusts through its NSS
// database and the host through `--ca-file`.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  cleanup, enroll, hex, inputReady, launchBrowser, near, newPage, probeWindow, remotePixel, screenPoint, startHost,
  startServer, startXvfb, tempDir, testCertificates, waitFor,
} from './harness.mjs';

after(cleanup);

test('sign up, add a device, connect, see and control it', () => journey());

test('the same over HTTPS with a certificate the browser and the host trust', () => journey({
  tls: testCertificates(['127.0.0.1', 'localhost']),
}));

/** The journey, on a server over HTTPS when `tls` is given. */
async function journey({ tls } = {}) {
  const server = await startServer(undefined, { tls });
  assert.ok(server.url.startsWith(tls ? 'https://' : 'http://'), server.url);
  const x = await startXvfb(1280, 720);
  // Known content: a red left half, and a blue window lower right that
  // reports what it receives.
  await probeWindow(x, { width: 640, height: 720, left: 0, top: 0, color: 'ff0000' });
  const probe = await probeWindow(x, { width: 400, height: 300, left: 800, top: 360, color: '0000ff' });

  const page = await newPage(await launchBrowser(server));
  const loaded = await page.goto(server.url);
  if (tls) {
    // Served by the server itself: HTTPS, verified by the browser.
    const security = await loaded.securityDetails();
    assert.ok(security, 'the page came over TLS');
    assert.equal(security.issuer, 'Meshdesk test CA');
  }

  // Sign up.
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('alert').filter({ hasText: /password/i }).waitFor();
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('username').filter({ hasText: 'alice' }).waitFor();
  await page.getByText('No devices yet.').waitFor();

  // Add a device: run the command exactly as shown.
  await page.getByRole('button', { name: 'Add device' }).click();
  const command = await page.getByTestId('enroll-command').textContent();
  assert.match(command, new RegExp(`^meshdesk-host enroll --server ${server.url} --code \\S+$`));
  // Beside it, the one line that installs the host from this server
  // (tests/tests/host_installer.rs runs it), with the same code.
  const line = await page.getByTestId('install-command').textContent();
  const code = command.split(' ').pop();
  assert.equal(line, `curl -fsSL ${server.url}/install.sh | sh -s -- --code ${code}`);
  await page.getByRole('button', { name: 'Copy install line' }).waitFor();
  await page.getByText(/expires at/).waitFor();
  await page.getByRole('button', { name: 'Close' }).click();
  const config = join(tempDir('host'), 'host.toml');
  const deviceId = enroll(command, config, 'office-pc', server);

  // It appears, offline, without a reload; then comes online live.
  const item = page.locator(`[data-device-id="${deviceId}"]`);
  await item.getByTestId('device-name').filter({ hasText: 'office-pc' }).waitFor();
  assert.equal(await item.getAttribute('data-online'), 'false');
  assert.ok(await item.getByRole('button', { name: /Connect/ }).isDisabled());
  startHost(x, config);
  await page.locator(`[data-device-id="${deviceId}"][data-online="true"]`).waitFor();
  await page.getByTestId('feed').getByText('office-pc came online').waitFor();

  // Connect: the first frame shows the Xvfb screen.
  const t0 = Date.now();
  await item.getByRole('button', { name: /Connect/ }).click();
  const screen = page.getByTestId('remote-screen');
  await screen.waitFor();
  await waitFor('the red half', async () => near(await remotePixel(page, 0.25, 0.5), hex(0xff0000)));
  const firstFrameMs = Date.now() - t0;
  console.log(`first frame after clicking Connect: ${firstFrameMs} ms`);
  assert.ok(near(await remotePixel(page, 0.78, 0.7), hex(0x0000ff)), 'blue window lower right');
  assert.ok(near(await remotePixel(page, 0.9, 0.2), hex(0x000000)), 'black background upper right');

  // A click on the picture lands on the matching screen point.
  await inputReady(page);
  const at = await screenPoint(page, 0.75, 0.75);
  await page.mouse.click(at.x, at.y);
  await waitFor('the click on the probe window', () => probe.clicks().length > 0);
  const [button, cx, cy] = probe.clicks()[0];
  assert.equal(button, 1);
  assert.ok(Math.abs(cx - 960) <= 2 && Math.abs(cy - 540) <= 2, `clicked at ${cx},${cy}`);
  const p = x.pointer();
  assert.ok(Math.abs(p.x - 960) <= 2 && Math.abs(p.y - 540) <= 2, `pointer at ${p.x},${p.y}`);

  // In a larger window the picture keeps its own size until "Scale to
  // window" enlarges it; clicks land on the same screen point either way.
  await page.setViewportSize({ width: 1600, height: 1000 });
  const fit = () => page.getByTestId('remote-screen').evaluate((v) => getComputedStyle(v).objectFit);
  const clickAt = async (nx, ny, n) => {
    const pt = await screenPoint(page, nx, ny);
    await page.mouse.click(pt.x, pt.y);
    await waitFor(`click ${n} on the probe window`, () => probe.clicks().length >= n);
    const [, px, py] = probe.clicks()[n - 1];
    const want = [nx * 1280, ny * 720];
    assert.ok(Math.abs(px - want[0]) <= 2 && Math.abs(py - want[1]) <= 2, `click ${n} at ${px},${py}, want ${want}`);
  };
  assert.equal(await fit(), 'scale-down');
  await clickAt(0.85, 0.8, 2);
  const scale = page.getByRole('button', { name: 'Scale to window' });
  assert.equal(await scale.getAttribute('aria-pressed'), 'false');
  await scale.click();
  assert.equal(await scale.getAttribute('aria-pressed'), 'true');
  assert.equal(await fit(), 'contain');
  await clickAt(0.65, 0.6, 3);
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.getByTestId('remote-screen').focus();

  // Typing in the page reaches the X client. Shift is pressed as a person
  // would (Playwright's type() sends capitals without it).
  await page.keyboard.press('Shift+KeyH');
  await page.keyboard.type('ello, mesh');
  await page.keyboard.press('Shift+Digit1');
  await waitFor('typed text', () => probe.typed() === 'Hello, mesh!').catch((e) => {
    throw new Error(`${e.message}; the probe saw: ${probe.proc.lines.join(' | ')}`);
  });

  // The stats say how the session is connected, and what the host's
  // video aims at (adaptive quality: its estimate of the path).
  await waitFor('stats', async () => /fps.*aims at .*Mbit\/s, \d+ fps \(path /.test(await page.getByTestId('session-stats').textContent()));
  assert.equal(await page.locator('.session').getAttribute('data-path'), 'direct');

  // Disconnect: back to the list; the feed names who connected.
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await page.getByTestId('session-ended').waitFor();
  await page.getByRole('button', { name: 'Back to devices' }).click();
  await page.getByTestId('feed').getByText(/alice disconnected from office-pc \(owner\), \d+ s/).waitFor();
  await page.getByTestId('feed').getByText('alice connected to office-pc (owner)').waitFor();
  assert.deepEqual(page.errors, []);
}
