// The second step of signing in, when the account asks for one: an
// authentication code (from the app, or a recovery code in the same
// field) or "Use a passkey".

import { api } from '../api.js';
import { field, h, notice } from '../dom.js';
import { passkeysAvailable, usePasskey } from '../webauthn.js';

/**
 * The form for the second step. `factors` is what the server listed
 * (['totp', 'webauthn']); `back` returns to the password form.
 */
export function secondStepForm(username, password, factors, onSignedIn, back) {
  const msg = notice();
  const code = field('Authentication code', { name: 'totp', inputMode: 'text', autocomplete: 'one-time-code', maxLength: 64 });
  const submit = h('button', { type: 'submit', className: 'primary wide' }, 'Verify');
  const passkey = h('button', { type: 'button', className: 'secondary wide' }, 'Use a passkey');
  const other = h('button', { type: 'button', className: 'link', on: { click: back } }, 'Sign in as someone else');
  const hasTotp = factors.includes('totp');
  const hasPasskey = factors.includes('webauthn');
  code.hidden = !hasTotp;
  submit.hidden = !hasTotp;
  passkey.hidden = !hasPasskey;
  const hint = h('p', { className: 'hint' }, hasTotp
    ? 'Enter the code from your authenticator app, or one of your recovery codes.'
    : 'Sign in with your passkey.');
  const form = h('form', { className: 'card auth', noValidate: true },
    h('h1', {}, 'Two-factor sign-in'), hint, code, msg, submit, passkey, h('p', { className: 'switch' }, other));
  const failed = (err) => {
    msg.show(err.status === 401 ? 'That did not work. Try again.' : err.message);
    if (hasTotp) code.input.select();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const totp = code.input.value.trim();
    if (!totp) {
      msg.show('Enter the code.');
      return;
    }
    submit.disabled = true;
    try {
      await api.signIn(username, password, { totp });
      onSignedIn();
    } catch (err) {
      failed(err);
    } finally {
      submit.disabled = false;
    }
  });
  passkey.addEventListener('click', async () => {
    if (!passkeysAvailable()) {
      msg.show('This browser cannot use passkeys here (it needs HTTPS or localhost).');
      return;
    }
    passkey.disabled = true;
    try {
      const challenge = await api.passkeyLoginStart(username, password);
      const webauthn = await usePasskey(challenge.publicKey);
      await api.signIn(username, password, { webauthn });
      onSignedIn();
    } catch (err) {
      failed(err.name === 'NotAllowedError' ? new Error('The passkey was not used.') : err);
    } finally {
      passkey.disabled = false;
    }
  });
  form.focusFirst = () => (hasTotp ? code.input : passkey).focus();
  return form;
}
