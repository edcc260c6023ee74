// Consent on the remote PC, in Chromium: the owner sets "prompt" in the
// device's Consent dialog, a session then waits for the person at the PC
// (the page says so), and their "Deny" (clicked with xdotool on the host's
// Xvfb, in the real host's own window) is shown as a decline. The same
// texts in the pure session controller are checked without a browser.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, onlineDevice, rest, signedInPage, startWithDevice, waitFor,
} from './harness.mjs';
import {
  CONSENT_WAITING_TEXT, FIRST_FRAME_TIMEOUT_MS, SessionController,
} from '../../signaling/assets/js/session/controller.js';

after(cleanup);

/** The host's consent button named `label`, once shown on display `x`. */
function consentButton(x, label) {
  return waitFor(`the ${label} button`, () => {
    try {
      return x.run('xdotool', ['search', '--onlyvisible', '--name', `^${label}$`]).trim().split('\n')[0] || null;
    } catch {
      return null;
    }
  });
}

test('a prompted session waits for the remote user and shows the decline', async () => {
  const { server, alice, browser, deviceId, x } = await startWithDevice({ name: 'desk' });
  const page = await signedInPage(browser, server, 'alice', { online: deviceId });
  const item = onlineDevice(page, deviceId);

  await item.getByRole('button', { name: 'Consent desk' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Your own sessions').selectOption('prompt');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await waitFor('the policy stored', async () =>
    (await rest(server, 'GET', `/devices/${deviceId}`, { token: alice })).consent_owner === 'prompt');
  await page.getByTestId('feed').getByText('alice changed consent on desk (owner: prompt, shared: unattended)').waitFor();

  await onlineDevice(page, deviceId).getByRole('button', { name: /Connect/ }).click();
  await page.getByRole('status').filter({ hasText: 'Waiting for the remote user to allow the session' }).waitFor();
  const deny = await consentButton(x, 'Deny');
  x.run('xdotool', ['mousemove', '--window', deny, '10', '10', 'click', '1']);
  const ended = page.getByTestId('session-ended');
  await ended.waitFor();
  assert.match(await ended.textContent(), /The remote user declined/);
  const { events } = await rest(server, 'GET', '/events?kind=consent_denied', { token: alice });
  assert.equal(events.length, 1);
  assert.deepEqual(page.errors, []);
});

test('the controller waits as long as the prompt may, and says who ended it', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, {
    type: 'server',
    msg: { type: 'session_created', request_id: 'r1', session_id: 's1', permission: 'control', ice_servers: [] },
  });
  const waiting = c.handle(0, { type: 'server', msg: { type: 'consent', session_id: 's1', state: 'waiting' } });
  assert.deepEqual(waiting, [{ type: 'status', text: CONSENT_WAITING_TEXT }]);
  assert.deepEqual(c.handle(FIRST_FRAME_TIMEOUT_MS + 1, { type: 'tick' }), [], 'no picture timeout while asked');
  const end = c.handle(30000, {
    type: 'server', msg: { type: 'session_end', session_id: 's1', reason: 'remote_user_ended' },
  });
  assert.deepEqual(end, [{ type: 'finish', message: 'The remote user ended the session', reason: 'remote_user_ended' }]);
});
