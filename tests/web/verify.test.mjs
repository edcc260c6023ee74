// Verifying the remote PC in Chromium, through a man in the middle
// (mitm.mjs) between the browser and the real server, with a real host:
// the honest path shows "Verified" and the safety code `meshdesk-host
// status` prints; a rewritten DTLS fingerprint is refused with the reason;
// a rewritten device key (after the first session pinned the real one)
// shows the changed-key warning, and after "Trust the new key" the
// binding's signature still refuses. No input is sent in the refusals.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { bin, cleanup, onlineDevice, recordSockets, signIn, startWithDevice } from './harness.mjs';
import { startMitm } from './mitm.mjs';

let mitm;
after(async () => {
  await mitm?.close();
  await cleanup();
});

async function attackerKey() {
  const pair = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  return Buffer.from(await webcrypto.subtle.exportKey('raw', pair.publicKey)).toString('base64');
}

/** Messages the page sent on its input data channel (recorded). */
const INPUT_SPY = () => {
  window.__inputSent = 0;
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function spy(data) {
    if (this.label === 'input') window.__inputSent += 1;
    return send.call(this, data);
  };
};

/** Open the session link in a new page of `context`; the end text or the safety code. */
async function openSession(context, deviceId) {
  const page = await context.newPage();
  await page.goto(`${mitm.url}/#/session/${deviceId}`);
  await page.locator('[data-testid="session-verified"]:visible, [data-testid="session-ended"]').first().waitFor({ timeout: 40000 });
  const ended = await page.getByTestId('session-ended').count() ? await page.getByTestId('session-ended').textContent() : null;
  const code = await page.getByTestId('session-verified').isVisible() ? await page.getByTestId('safety-code').textContent() : null;
  return { page, ended, code };
}

test('the browser verifies the remote PC and refuses a man in the middle', async () => {
  const { server, browser, deviceId, config } = await startWithDevice();
  mitm = await startMitm(server);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addInitScript(INPUT_SPY);
  await recordSockets(context);
  const first = await context.newPage();
  await signIn(first, { url: mitm.url }, 'alice');
  await onlineDevice(first, deviceId).waitFor();

  // Honest: Verified, with the code the host prints.
  const honest = await openSession(context, deviceId);
  assert.equal(honest.ended, null, 'the honest session runs');
  const status = execFileSync(bin('meshdesk-host'), ['status', '--config', config], { encoding: 'utf8' });
  assert.match(honest.code, /^\d{4} \d{4} \d{4}$/);
  assert.match(status, new RegExp(`safety code: ${honest.code}`));
  assert.match(await honest.page.getByTestId('session-verified').textContent(), /^Verified/);
  await honest.page.close();

  // The offer's fingerprint rewritten: refused, with the reason, no input.
  mitm.set('fingerprint');
  const before = mitm.rewrites();
  const swapped = await openSession(context, deviceId);
  assert.ok(mitm.rewrites() > before, 'the offer went through the proxy');
  assert.equal(swapped.code, null);
  assert.match(swapped.ended, /Could not verify the remote PC: /);
  assert.equal(await swapped.page.evaluate(() => window.__inputSent), 0);
  await swapped.page.close();

  // The device key rewritten: the changed-key warning, before any media.
  mitm.set({ key: await attackerKey() });
  const changed = await openSession(context, deviceId);
  assert.match(changed.ended, /key of this remote PC has changed/);
  assert.equal(changed.code, null);
  assert.equal(await changed.page.evaluate(() => document.querySelector('video')?.srcObject ?? null), null, 'no media');

  // Trusting the rewritten key: the signature still refuses.
  await changed.page.getByRole('button', { name: 'Trust the new key' }).click();
  await changed.page.getByTestId('session-ended').filter({ hasText: /Could not verify the remote PC: the DTLS binding signature does not match/ }).waitFor({ timeout: 40000 });
  assert.ok(!(await changed.page.getByTestId('session-verified').isVisible()));
  assert.equal(await changed.page.evaluate(() => window.__inputSent), 0);
});
