// A page load that meets a network change or a server restart must not
// stop at "Loading Meshdesk…" or at a dead-end error: a module that fails
// to load reloads the page once (and a lasting failure says so, with a
// Reload button), and an account request that cannot reach the server is
// made again.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, launchBrowser, newPage, startServer } from './harness.mjs';

after(cleanup);

test('a module that fails to load is loaded again, and a lasting failure is explained', async () => {
  const server = await startServer();
  const browser = await launchBrowser();

  // During the first load (the app's script fails, as when the network
  // changes under the page): the page loads itself again and the sign-in
  // form appears.
  const page = await newPage(browser);
  let failures = 0;
  await page.route('**/js/app.bundle.js', (route) => {
    if (failures++ < 1) return route.abort('internetdisconnected');
    return route.continue();
  });
  await page.goto(server.url);
  await page.getByLabel('Username').waitFor({ timeout: 10000 });
  assert.ok(failures > 1, 'the script was asked for again');

  // Always: after one more try, a message instead of the loading text.
  const stuck = await newPage(browser);
  await stuck.route('**/js/app.bundle.js', (route) => route.abort('internetdisconnected'));
  await stuck.goto(server.url);
  await stuck.getByText('Meshdesk could not load').waitFor({ timeout: 10000 });
  assert.equal(await stuck.getByRole('button', { name: 'Reload' }).count(), 1);
});

test('an account request that cannot reach the server is made again', async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  const page = await newPage(browser);
  // The first two (boot.js's and the app's first) fail as on a network change.
  let failures = 0;
  await page.route('**/api/v1/me', (route) => {
    if (failures++ < 2) return route.abort('internetdisconnected');
    return route.continue();
  });
  await page.goto(server.url);
  await page.getByLabel('Username').waitFor({ timeout: 10000 });
  assert.equal(failures, 3, 'asked three times');
  assert.deepEqual(page.errors, []);
});
