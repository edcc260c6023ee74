// Settings: personal API tokens for programs that use the API. A new
// token's secret is shown once, right after it is created.

import { api } from '../api.js';
import { field, h, notice, replace } from '../dom.js';
import { ago } from '../format.js';

const SCOPES = [
  ['devices:read', 'Read devices'],
  ['events:read', 'Read the activity feed'],
  ['shares:write', 'Share devices'],
  ['sessions:connect', 'Connect to devices'],
];

/** "never", or a date and time in the user's locale. */
function when(ms, never) {
  return ms ? new Date(ms).toLocaleString() : never;
}

export class Tokens {
  constructor() {
    this.list = h('ul', { className: 'tokens', attrs: { 'aria-label': 'API tokens' } });
    this.msg = notice();
    this.secret = h('div', { className: 'secret', hidden: true });
    this.el = h('section', { className: 'panel', attrs: { 'aria-labelledby': 'tokens-title' } },
      h('header', {}, h('h2', { id: 'tokens-title' }, 'API tokens')),
      h('p', { className: 'muted' }, 'Programs that use the Meshdesk API sign in with a token. A token can do only what its scopes allow.'),
      this.form(), this.msg, this.secret, this.list);
  }

  form() {
    const name = field('Token name', { required: true, maxLength: 64, autocomplete: 'off' });
    const boxes = SCOPES.map(([scope, label]) => {
      const box = h('input', { type: 'checkbox', value: scope, id: `scope-${scope.replace(':', '-')}` });
      return h('label', { className: 'check' }, box, ` ${label} (${scope})`);
    });
    const expires = field('Expires (optional)', { type: 'date' });
    const form = h('form', { className: 'token-form' }, name,
      h('fieldset', {}, h('legend', {}, 'Scopes'), ...boxes), expires,
      h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'primary' }, 'Create token')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const scopes = boxes.map((b) => b.firstChild).filter((b) => b.checked).map((b) => b.value);
      const date = expires.input.value;
      const body = { name: name.input.value.trim(), scopes };
      if (date) body.expires_at = new Date(`${date}T23:59:59`).toISOString();
      try {
        const created = await api.createToken(body);
        this.msg.show('');
        this.showSecret(created);
        form.reset();
        await this.reload();
      } catch (err) {
        this.msg.show(err.message);
      }
    });
    return form;
  }

  showSecret(created) {
    const code = h('code', { dataset: { testid: 'new-token' } }, created.token);
    const copy = h('button', { type: 'button', className: 'secondary small' }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(created.token);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select and copy it';
      }
    });
    replace(this.secret,
      h('p', {}, `Token “${created.name}”: copy it now, it is not shown again.`), code, ' ', copy);
    this.secret.hidden = false;
  }

  load() {
    return this.reload();
  }

  async reload() {
    try {
      const tokens = await api.tokens();
      replace(this.list, tokens.length ? tokens.map((t) => this.item(t)) : h('li', { className: 'muted' }, 'No tokens yet.'));
    } catch (err) {
      this.msg.show(err.message);
    }
  }

  item(t) {
    const revoke = h('button', { type: 'button', className: 'danger small' }, 'Revoke');
    revoke.addEventListener('click', async () => {
      revoke.disabled = true;
      try {
        await api.revokeToken(t.id);
        this.secret.hidden = true;
        await this.reload();
      } catch (err) {
        this.msg.show(err.message);
        revoke.disabled = false;
      }
    });
    const expired = t.expires_at && t.expires_at <= Date.now();
    return h('li', { className: 'token', dataset: { testid: 'token', name: t.name } },
      h('div', {}, h('strong', {}, t.name), ' ', h('span', { className: 'muted' }, t.scopes.join(', '))),
      h('div', { className: 'muted' },
        `created ${ago(t.created_at)} · expires ${expired ? 'expired' : when(t.expires_at, 'never')} · last used ${t.last_used_at ? ago(t.last_used_at) : 'never'}`),
      revoke);
  }
}
