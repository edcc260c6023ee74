// Settings section "Webhooks": the account's webhooks with their filters,
// state and recent deliveries; add one (its secret is shown once), delete,
// turn back on, resend a delivery.

import { api } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { ago } from '../format.js';

// Kinds a webhook may ask for (none checked: every kind).
const KINDS = ['device_enrolled', 'device_online', 'device_offline', 'device_renamed', 'device_removed',
  'share_granted', 'share_revoked', 'session_started', 'session_ended', 'login_failed', 'account_created',
  'webhook_disabled', 'consent_allowed', 'consent_denied', 'consent_ended', 'consent_changed'];

export class Webhooks {
  constructor() {
    this.list = h('ul', { className: 'webhooks', dataset: { testid: 'webhooks' } });
    this.error = notice();
    this.secret = h('div', { className: 'secret', hidden: true, dataset: { testid: 'webhook-secret' } });
    this.form = this.addForm();
    this.el = h('section', { className: 'panel', attrs: { 'aria-labelledby': 'webhooks-title' } },
      h('header', {}, h('h2', { id: 'webhooks-title' }, 'Webhooks')),
      h('p', { className: 'hint' }, 'Meshdesk POSTs each matching event, signed, to these URLs (docs/webhooks.md).'),
      this.error, this.secret, this.list, this.form);
  }

  addForm() {
    this.url = h('input', { id: 'webhook-url', type: 'url', required: true, placeholder: 'https://example.com/meshdesk' });
    this.devicesInput = h('input', { id: 'webhook-devices', type: 'text', placeholder: 'device ids, comma-separated (optional)' });
    this.kindBoxes = KINDS.map((k) => h('input', { type: 'checkbox', value: k, id: `kind-${k}` }));
    const kinds = h('fieldset', { className: 'kinds' }, h('legend', {}, 'Events (none: all)'),
      ...this.kindBoxes.map((b) => h('label', { htmlFor: b.id }, b, b.value.replaceAll('_', ' '))));
    const add = h('button', { type: 'submit', className: 'primary' }, 'Add webhook');
    return h('form', { className: 'add-webhook', on: { submit: (e) => { e.preventDefault(); this.add(); } } },
      h('div', { className: 'field' }, h('label', { htmlFor: 'webhook-url' }, 'Webhook URL'), this.url),
      kinds,
      h('div', { className: 'field' }, h('label', { htmlFor: 'webhook-devices' }, 'Only devices'), this.devicesInput),
      add);
  }

  async load() {
    try {
      this.hooks = await api.webhooks();
      this.error.show(null);
      await this.render();
    } catch (err) {
      this.error.show(err.message);
    }
  }

  async add() {
    const kinds = this.kindBoxes.filter((b) => b.checked).map((b) => b.value);
    const devices = this.devicesInput.value.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const created = await api.addWebhook(this.url.value.trim(), kinds, devices);
      this.url.value = '';
      this.devicesInput.value = '';
      for (const b of this.kindBoxes) b.checked = false;
      replace(this.secret, h('p', {}, 'Signing secret (shown only now; copy it to your receiver):'),
        h('code', {}, created.secret));
      this.secret.hidden = false;
      await this.load();
    } catch (err) {
      this.error.show(err.message);
    }
  }

  async act(f) {
    try {
      await f();
      await this.load();
    } catch (err) {
      this.error.show(err.message);
    }
  }

  async render() {
    if (!this.hooks.length) {
      replace(this.list, h('li', { className: 'empty' }, 'No webhooks yet.'));
      return;
    }
    const items = await Promise.all(this.hooks.map((w) => this.item(w)));
    replace(this.list, items);
  }

  async item(w) {
    const filters = `${w.kinds.length ? w.kinds.join(', ') : 'all events'}${w.devices.length ? `; devices ${w.devices.join(', ')}` : ''}`;
    const state = w.enabled ? 'Enabled' : 'Disabled';
    const actions = [
      !w.enabled && h('button', { type: 'button', className: 'small', on: { click: () => this.act(() => api.enableWebhook(w.id, true)) } }, 'Enable'),
      h('button', { type: 'button', className: 'secondary small', attrs: { 'aria-label': `Delete webhook ${w.url}` },
        on: { click: () => this.act(() => api.removeWebhook(w.id)) } }, 'Delete'),
    ];
    const deliveries = await api.deliveries(w.id).catch(() => []);
    return h('li', { dataset: { webhookId: String(w.id), enabled: String(w.enabled) } },
      h('div', { className: 'webhook-head' }, h('strong', { className: 'url' }, w.url), ...actions),
      h('p', { className: 'hint' }, `${state} · ${filters} · ${w.consecutive_failures} failed in a row`),
      this.deliveryList(w, deliveries));
  }

  deliveryList(w, deliveries) {
    if (!deliveries.length) return h('p', { className: 'hint' }, 'No deliveries yet.');
    return h('ol', { className: 'deliveries', dataset: { testid: 'deliveries' } }, deliveries.map((d) => {
      const code = d.last_status_code ?? '—';
      const resend = d.status !== 'pending' && w.enabled
        && h('button', { type: 'button', className: 'link', on: { click: () => this.act(() => api.resend(w.id, d.id)) } }, 'Resend');
      return h('li', { dataset: { deliveryId: String(d.id), status: d.status } },
        h('span', { className: 'kind' }, d.kind.replaceAll('_', ' ')), ' ',
        h('span', { className: 'status' }, d.status), ' ',
        h('span', { className: 'code', dataset: { testid: 'status-code' } }, String(code)), ' ',
        h('span', { className: 'hint' }, `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}, ${ago(d.created_at)}`),
        d.last_error && h('span', { className: 'error' }, ` ${d.last_error}`), ' ',
        resend);
    }));
  }
}
