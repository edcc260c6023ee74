// Through the server's embedded TURN relay: the page forced to relayed
// paths only (?ice=relay) still connects, shows the screen, and says the
// session is relayed.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, near, remotePixel, signedInPage, startWithDevice, waitFor,
} from './harness.mjs';

after(cleanup);

test('a relay-only browser session goes through the embedded TURN relay', async () => {
  // The relay may reach this machine's own addresses in this test only.
  const { server, browser, deviceId } = await startWithDevice({
    config: `signup = "open"
[relay]
enabled = true
listen = "127.0.0.1:0"
allowed_peer_ranges = ["127.0.0.0/8", "0.0.0.0/0"]
`,
    name: 'far-away-pc',
    probe: { color: '00ffff' },
  });
  assert.match(server.proc.lines.join('\n'), /relay on 127\.0\.0\.1:\d+/);
  const page = await signedInPage(browser, server, 'alice', { online: deviceId });
  await page.goto(`${server.url}/?ice=relay#/session/${deviceId}`);
  await waitFor('the cyan screen', async () => near(await remotePixel(page, 0.5, 0.5), hex(0x00ffff)));
  await waitFor('the path in the stats', async () => (await page.locator('.session').getAttribute('data-path')) === 'relayed');
  // The path is its own part of the text; what the encoder aims at may follow it.
  assert.match(await page.getByTestId('session-stats').textContent(), /· relayed( ·|$)/);
  assert.deepEqual(page.errors, []);
});
