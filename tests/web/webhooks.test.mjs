// Webhooks in the Settings page: add one, see its secret once, see its
// delivery with the receiver's status code, and resend it. The receiver
// is a real HTTP server on loopback (the server allows loopback here).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import {
  cleanup, createUser, launchBrowser, rest, signedInPage, startServer, waitFor,
} from './harness.mjs';

after(cleanup);

/** A receiver on 127.0.0.1 answering 202 and counting requests. */
async function receiver() {
  const got = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(202).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, got };
}

test('a webhook is added in Settings, its secret shown once, its delivery resent', async () => {
  const server = await startServer('signup = "open"\n[relay]\nenabled = false\n[webhooks]\nallow_loopback = true\nretry_base_ms = 200\n');
  const alice = await createUser(server, 'alice');
  const rx = await receiver();
  const browser = await launchBrowser();
  const page = await signedInPage(browser, server, 'alice');

  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await page.getByText('No webhooks yet.').waitFor();
  await page.getByLabel('Webhook URL').fill(rx.url);
  await page.getByLabel('share granted').check();
  await page.getByRole('button', { name: 'Add webhook' }).click();
  const secret = await page.getByTestId('webhook-secret').locator('code').textContent();
  assert.match(secret, /^whsec_/);
  const hook = page.getByTestId('webhooks').locator('li[data-webhook-id]');
  await hook.getByText(rx.url).waitFor();
  await hook.getByText(/share_granted/).waitFor();

  // An event it asked for: a share, made through the API.
  await createUser(server, 'bob');
  const { code } = await rest(server, 'POST', '/enrollment-codes', { token: alice });
  const { publicKey } = generateKeyPairSync('ed25519');
  const key = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  const dev = await rest(server, 'POST', '/enroll', { body: { code, public_key: key, name: 'office-pc', os: 'TestOS' } });
  await rest(server, 'POST', `/devices/${dev.device_id}/shares`, { token: alice, body: { username: 'bob', permission: 'view' } });
  await waitFor('the delivery', () => rx.got.length === 1);
  assert.equal(JSON.parse(rx.got[0].body).event.kind, 'share_granted');

  // The page shows it delivered with the receiver's 202, once reloaded.
  await page.reload();
  const delivered = page.locator('[data-testid="deliveries"] li[data-status="delivered"]');
  await delivered.getByTestId('status-code').filter({ hasText: '202' }).waitFor();
  assert.equal(await page.getByTestId('webhook-secret').isVisible(), false, 'the secret is not shown again');
  await delivered.getByRole('button', { name: 'Resend' }).click();
  await waitFor('the resent delivery', () => rx.got.length === 2);
  assert.equal(JSON.parse(rx.got[1].body).delivery_id, JSON.parse(rx.got[0].body).delivery_id);
  assert.deepEqual(page.errors, []);
});
