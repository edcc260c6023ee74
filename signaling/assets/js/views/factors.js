// Settings: two-factor sign-in. An authenticator app (TOTP: a QR code and
// the secret to type, a confirming code, then ten recovery codes shown
// once, and new ones on demand) and passkeys (add, list, remove).

import { api } from '../api.js';
import { field, h, notice, replace } from '../dom.js';
import { createPasskey, passkeysAvailable } from '../webauthn.js';

/** "never", or a date and time in the user's locale. */
function when(ms, never) {
  return ms ? new Date(ms).toLocaleString() : never;
}

export class TwoFactor {
  constructor() {
    this.msg = notice();
    this.totp = h('div', { className: 'totp' });
    this.passkeys = h('ul', { className: 'tokens', attrs: { 'aria-label': 'Passkeys' } });
    this.el = h('section', { className: 'panel', attrs: { 'aria-labelledby': 'two-factor-title' } },
      h('header', {}, h('h2', { id: 'two-factor-title' }, 'Two-factor sign-in')),
      h('p', { className: 'muted' }, 'After your password, Meshdesk asks for a code from an authenticator app or for a passkey.'),
      this.msg,
      h('h3', {}, 'Authenticator app'), this.totp,
      h('h3', {}, 'Passkeys'), this.passkeyForm(), this.passkeys);
  }

  load() {
    return this.reload();
  }

  async reload() {
    try {
      const f = await api.factors();
      this.drawTotp(f);
      replace(this.passkeys, f.passkeys.length ? f.passkeys.map((p) => this.passkeyItem(p))
        : h('li', { className: 'muted' }, 'No passkeys yet.'));
    } catch (err) {
      this.msg.show(err.message);
    }
  }

  drawTotp(f) {
    if (!f.totp) {
      const start = h('button', { type: 'button', className: 'primary' }, 'Set up an authenticator app');
      start.addEventListener('click', () => this.enrol());
      replace(this.totp, h('p', {}, 'Off.'), start);
      return;
    }
    const code = field('Current code or a recovery code', { autocomplete: 'one-time-code', maxLength: 64 });
    const off = h('button', { type: 'submit', className: 'danger small' }, 'Turn off');
    const renew = h('button', { type: 'button', className: 'secondary small' }, 'New recovery codes');
    const form = h('form', { className: 'token-form' }, code, h('div', { className: 'actions' }, renew, off));
    renew.addEventListener('click', async () => {
      try {
        const r = await api.newRecoveryCodes(code.input.value.trim());
        this.msg.show('');
        this.showRecovery(r.recovery_codes, 'New recovery codes: the old ones no longer work.');
      } catch (err) {
        this.msg.show(err.message);
      }
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api.disableTotp(code.input.value.trim());
        this.msg.show('The authenticator app is turned off.', 'info');
        await this.reload();
      } catch (err) {
        this.msg.show(err.message);
      }
    });
    replace(this.totp, h('p', { dataset: { testid: 'totp-on' } },
      `On. ${f.recovery_codes_left} recovery codes left.`), form);
  }

  async enrol() {
    let e;
    try {
      e = await api.startTotp();
    } catch (err) {
      this.msg.show(err.message);
      return;
    }
    const qr = h('img', { className: 'qr', alt: 'QR code for your authenticator app',
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qr_svg)}` });
    const code = field('Authentication code', { inputMode: 'numeric', autocomplete: 'one-time-code', maxLength: 6, required: true });
    const form = h('form', { className: 'token-form' }, code,
      h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'primary' }, 'Turn on')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await api.confirmTotp(code.input.value.trim());
        this.msg.show('');
        this.showRecovery(r.recovery_codes);
      } catch (err) {
        this.msg.show(err.message);
        code.input.select();
      }
    });
    replace(this.totp,
      h('p', {}, 'Scan the QR code with your authenticator app, or type this key:'), qr,
      h('p', {}, h('code', { dataset: { testid: 'totp-secret' } }, e.secret)),
      h('p', {}, 'Then enter the code the app shows.'), form);
    code.input.focus();
  }

  showRecovery(codes, lead = 'The authenticator app is on.') {
    const done = h('button', { type: 'button', className: 'secondary small' }, 'I have saved them');
    done.addEventListener('click', () => this.reload());
    replace(this.totp,
      h('p', {}, `${lead} Save these recovery codes now: each signs in once in place of a code, and they are not shown again.`),
      h('ul', { className: 'recovery', dataset: { testid: 'recovery-codes' } }, codes.map((c) => h('li', {}, h('code', {}, c)))),
      done);
  }

  passkeyForm() {
    const name = field('Passkey name', { required: true, maxLength: 64, autocomplete: 'off', placeholder: 'e.g. Laptop' });
    const add = h('button', { type: 'submit', className: 'primary' }, 'Add a passkey');
    const form = h('form', { className: 'token-form' }, name, h('div', { className: 'actions' }, add));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!passkeysAvailable()) {
        this.msg.show('This browser cannot use passkeys here (it needs HTTPS or localhost).');
        return;
      }
      try {
        const challenge = await api.passkeyRegisterStart();
        const credential = await createPasskey(challenge.publicKey);
        await api.passkeyRegisterFinish(name.input.value.trim(), credential);
        form.reset();
        this.msg.show('Passkey added.', 'info');
        await this.reload();
      } catch (err) {
        this.msg.show(err.name === 'NotAllowedError' ? 'The passkey was not created.' : err.message);
      }
    });
    return form;
  }

  passkeyItem(p) {
    const remove = h('button', { type: 'button', className: 'danger small' }, 'Remove');
    remove.addEventListener('click', async () => {
      try {
        await api.removePasskey(p.id);
        await this.reload();
      } catch (err) {
        this.msg.show(err.message);
      }
    });
    return h('li', { className: 'token' },
      h('div', {}, h('strong', {}, p.name),
        h('span', { className: 'muted' }, ` added ${when(p.created_at)}, last used ${when(p.last_used_at, 'never')}`)),
      remove);
  }
}
