// API tokens in the web app's Settings: a token is created with chosen
// scopes, its secret shown once, it works for exactly those scopes, and
// "Revoke" stops it at once.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, createUser, launchBrowser, signedInPage, startServer } from './harness.mjs';

after(cleanup);

async function status(server, path, token) {
  const res = await fetch(`${server.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return res.status;
}

test('a token made in Settings works for its scopes until it is revoked', async () => {
  const server = await startServer();
  await createUser(server, 'alice');
  const browser = await launchBrowser();
  const page = await signedInPage(browser, server, 'alice');
  await page.getByRole('button', { name: 'Settings' }).click();
  const section = page.getByRole('region', { name: 'API tokens' });
  await section.getByText('No tokens yet.').waitFor();

  // Without a scope the server says what is missing, in the page.
  await section.getByLabel('Token name').fill('backup script');
  await section.getByRole('button', { name: 'Create token' }).click();
  await section.getByRole('alert').filter({ hasText: 'scopes' }).waitFor();

  await section.getByLabel(/Read devices/).check();
  await section.getByRole('button', { name: 'Create token' }).click();
  const secret = await section.getByTestId('new-token').textContent();
  assert.match(secret, /^mdp_/);
  const row = section.getByTestId('token').filter({ hasText: 'backup script' });
  await row.getByText('devices:read').waitFor();
  await row.getByText(/last used never/).waitFor();

  assert.equal(await status(server, '/devices', secret), 200);
  assert.equal(await status(server, '/events', secret), 403, 'no events:read scope');

  // The secret is not shown again once the page is left.
  await page.reload();
  await page.getByRole('region', { name: 'API tokens' }).getByTestId('token').first().waitFor();
  assert.equal(await page.getByTestId('new-token').count(), 0);
  await page.getByRole('region', { name: 'API tokens' }).getByText(/last used (just now|\d+ min ago)/).waitFor();

  await page.getByRole('region', { name: 'API tokens' }).getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('region', { name: 'API tokens' }).getByText('No tokens yet.').waitFor();
  assert.equal(await status(server, '/devices', secret), 401);
  await browser.close();
});
