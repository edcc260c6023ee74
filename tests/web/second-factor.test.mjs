// Two-factor sign-in in the web app: an authenticator app is set up in
// Settings (the secret read off the page, the code computed here as an
// app would, RFC 6238), the recovery codes are shown once, and the next
// sign-in asks for the code; a passkey is added with Chromium's virtual
// authenticator (CDP WebAuthn domain) and signs in instead of the code,
// and alone once the app is turned off, until it is removed; a recovery
// code works in the same field as the code.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { cleanup, createUser, launchBrowser, newPage, startServer } from './harness.mjs';

after(cleanup);

const PASSWORD = 'correct horse battery';

/** RFC 4648 base32 to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The 6-digit TOTP code (SHA-1, 30 s) of the step `offset` steps from now. */
function totp(secret, offset = 0) {
  const step = Math.floor(Date.now() / 30000) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(at) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, '0');
}

/** Wait (on the clock, bounded) until at least 12 s of the step remain. */
async function earlyInAStep() {
  const left = 30000 - (Date.now() % 30000);
  if (left < 12000) await new Promise((r) => setTimeout(r, left + 200));
}

async function password(page, url, username) {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Username').waitFor();
}

test('TOTP set up in Settings, then a passkey, each signs in after the password', async () => {
  const server = await startServer();
  // Passkeys need a domain name: the page is opened as localhost.
  const url = server.url.replace('127.0.0.1', 'localhost');
  await createUser(server, 'alice');
  const browser = await launchBrowser();
  const page = await newPage(browser);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  await page.goto(url);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('username').waitFor();
  await page.getByRole('button', { name: 'Settings' }).click();
  const section = page.getByRole('region', { name: 'Two-factor sign-in' });
  await section.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await section.getByRole('img', { name: /QR code/ }).waitFor();
  const secret = (await section.getByTestId('totp-secret').textContent()).trim();
  await earlyInAStep();
  await section.getByLabel('Authentication code').fill('000000');
  await section.getByRole('button', { name: 'Turn on' }).click();
  await section.getByRole('alert').filter({ hasText: 'wrong code' }).waitFor();
  await section.getByLabel('Authentication code').fill(totp(secret, -1));
  await section.getByRole('button', { name: 'Turn on' }).click();
  await section.getByTestId('recovery-codes').waitFor();
  const codes = await section.getByTestId('recovery-codes').locator('li').allTextContents();
  assert.equal(codes.length, 10);
  await section.getByRole('button', { name: 'I have saved them' }).click();
  await section.getByText('On. 10 recovery codes left.').waitFor();

  await section.getByLabel('Passkey name').fill('Laptop');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await section.getByText('Laptop').first().waitFor();

  // The code.
  await signOut(page);
  await password(page, url, 'alice');
  await page.getByLabel('Authentication code').fill(totp(secret, 0));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('username').waitFor();

  // A wrong code says so and stays; a recovery code works in the field.
  await signOut(page);
  await password(page, url, 'alice');
  await page.getByLabel('Authentication code').fill('123456');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').filter({ hasText: 'did not work' }).waitFor();
  await page.getByLabel('Authentication code').fill(codes[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('username').waitFor();

  // The passkey.
  await signOut(page);
  await password(page, url, 'alice');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.getByTestId('username').waitFor();
  await page.getByRole('button', { name: 'Settings' }).click();
  const settings = page.getByRole('region', { name: 'Two-factor sign-in' });
  await settings.getByText(/last used (?!never)/).first().waitFor();

  // New recovery codes replace the old ones; with the app turned off (by
  // one of the new codes), the passkey alone is the second step.
  await settings.getByLabel('Current code or a recovery code').fill(codes[1]);
  await settings.getByRole('button', { name: 'New recovery codes' }).click();
  await settings.getByText(/the old ones no longer work/).waitFor();
  const fresh = await settings.getByTestId('recovery-codes').locator('li').allTextContents();
  assert.equal(fresh.length, 10);
  assert.ok(!fresh.includes(codes[2]), 'new codes, not the old ones');
  await settings.getByRole('button', { name: 'I have saved them' }).click();
  await settings.getByLabel('Current code or a recovery code').fill(codes[2]);
  await settings.getByRole('button', { name: 'Turn off' }).click();
  await settings.getByRole('alert').filter({ hasText: 'wrong code' }).waitFor();
  await settings.getByLabel('Current code or a recovery code').fill(fresh[0]);
  await settings.getByRole('button', { name: 'Turn off' }).click();
  await settings.getByRole('button', { name: 'Set up an authenticator app' }).waitFor();
  await signOut(page);
  await password(page, url, 'alice');
  assert.equal(await page.getByLabel('Authentication code').isVisible(), false);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.getByTestId('username').waitFor();

  // Removing the passkey leaves the password alone.
  await page.getByRole('button', { name: 'Settings' }).click();
  await settings.getByRole('button', { name: 'Remove' }).click();
  await settings.getByText('No passkeys yet.').waitFor();
  await signOut(page);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('username').waitFor();
  assert.deepEqual(page.errors, []);
  assert.ok(!server.log().includes(secret), 'the TOTP secret reached the log');
  await browser.close();
});
