// Opening a session link (#/session/DEVICE_ID): signed in, the request goes
// out from boot.js before the app's modules have loaded, on the socket the
// app then takes over (one socket, one request, one session); signed out,
// the sign-in form comes first and the session opens after it.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, near, newPage, recordSockets, remotePixel, rest, startWithDevice, waitFor, waitOnline,
} from './harness.mjs';

after(cleanup);

test('a session link requests its session once, as early as it can', async () => {
  const { server, alice, browser, deviceId } = await startWithDevice({ probe: { color: '00ff00' } });
  await waitOnline(server, alice, deviceId);
  const page = await newPage(browser);
  // Every viewer socket the page opens, and what it sends.
  await recordSockets(page.context());
  const link = `${server.url}/#/session/${encodeURIComponent(deviceId)}`;
  const green = async () => near(await remotePixel(page, 0.5, 0.5), hex(0x00ff00));

  // Signed out: sign in first, then the session opens.
  await page.goto(link);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitFor('the green screen after signing in', green);

  // Signed in: the link's first socket is boot.js's, the app keeps it, and
  // the one request on it is boot.js's. The account is asked for once:
  // boot.js asks, and the app takes that answer instead of asking again.
  await page.goto('about:blank');
  const accountRequests = [];
  page.on('request', (r) => r.url().endsWith('/api/v1/me') && accountRequests.push(r));
  // The device list waits 2 s for the session being set up, presence
  // messages about its devices notwithstanding.
  const listRequests = [];
  page.on('request', (r) => r.url().endsWith('/api/v1/devices') && listRequests.push(Date.now()));
  // Its name comes with the session: no request for the device.
  const deviceRequests = [];
  page.on('request', (r) => r.url().includes(`/api/v1/devices/${deviceId}`) && deviceRequests.push(r.url()));
  const loaded = Date.now();
  await page.goto(link);
  await waitFor('the green screen from the link', green);
  assert.equal(accountRequests.length, 1, 'one request for the account');
  assert.equal(accountRequests[0].resourceType(), 'fetch');
  await page.locator('.session .title').getByText('office-pc').waitFor();
  assert.equal(await page.getByRole('region', { name: 'Session with office-pc' }).count(), 1);
  assert.equal(await page.getByLabel(/^Remote screen of office-pc\./).count(), 1);
  assert.deepEqual(deviceRequests, []);
  await waitFor('the device list, after the session', () => listRequests.length > 0);
  assert.ok(listRequests[0] - loaded >= 1900, `the list was asked for ${listRequests[0] - loaded} ms after the load began`);
  const sockets = await page.evaluate(() => window.__sockets.map((s) => s.sent));
  assert.equal(sockets.length, 1, 'one socket');
  const requests = sockets[0].filter((m) => m.type === 'session_request');
  assert.deepEqual(requests, [{ type: 'session_request', device_id: deviceId, request_id: 'r0' }]);
  assert.ok(sockets[0].some((m) => m.type === 'answer'), 'the session is answered on it');

  // Two visits, two sessions: none left over.
  await waitFor('two sessions in the feed', async () => {
    const { events } = await rest(server, 'GET', '/events', { token: alice });
    return events.filter((e) => e.kind === 'session_started' && e.device_id === deviceId).length === 2;
  });
  const { events } = await rest(server, 'GET', '/events', { token: alice });
  assert.equal(events.filter((e) => e.kind === 'session_ended').length, 1, 'the first visit ended, the second runs');
  assert.deepEqual(page.errors, []);
});
