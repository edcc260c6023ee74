// The device list: name, OS, online state, your access, Connect, Files
// (the device's Files view), and the owner's actions. Presence changes
// arrive live over the WebSocket.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { ago, permissionLabel } from '../format.js';
import { addDeviceDialog, removeDialog, renameDialog, shareDialog } from './dialogs.js';
import { consentDialog } from './consent.js';

export class Devices {
  /** `onFiles(device)` opens its Files view (by default its route, #/files/ID). */
  constructor(onConnect, onFiles = (d) => { location.hash = `#/files/${encodeURIComponent(d.id)}`; }) {
    this.onConnect = onConnect;
    this.onFiles = onFiles;
    this.devices = [];
    this.list = h('ul', { className: 'devices', dataset: { testid: 'devices' } });
    this.error = h('p', { className: 'notice', hidden: true, attrs: { role: 'alert' } });
    const add = h('button', { type: 'button', className: 'primary', on: { click: () => addDeviceDialog() } }, 'Add device');
    this.el = h('section', { className: 'panel', attrs: { 'aria-labelledby': 'devices-title' } },
      h('header', {}, h('h2', { id: 'devices-title' }, 'Devices'), add), this.error, this.list);
  }

  async reload() {
    this.asked = true;
    try {
      this.devices = await api.devices();
      this.error.hidden = true;
    } catch (err) {
      this.error.textContent = err.message;
      this.error.hidden = false;
    }
    this.render();
  }

  /** Reload soon, once, however many changes arrive together. */
  refresh() {
    if (!this.asked) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.reload(), 100);
  }

  presence(m) {
    // Before the list is first asked for (a session link loads it later),
    // that first load brings the state: a reload now would only compete
    // with the session being set up.
    if (!this.asked) return;
    const d = this.devices.find((x) => x.id === m.device_id);
    if (!d) {
      this.refresh();
      return;
    }
    d.online = m.online;
    d.name = m.name;
    if (!m.online) d.last_seen = Date.now();
    // Going offline may also mean revoked or removed: the list decides.
    if (!m.online) this.refresh();
    this.render();
  }

  find(id) {
    return this.devices.find((d) => d.id === id);
  }

  render() {
    if (!this.devices.length) {
      replace(this.list, h('li', { className: 'empty' },
        h('p', {}, 'No devices yet.'),
        h('p', { className: 'hint' }, 'Choose "Add device" to enroll a PC: it takes one command on that PC.')));
      return;
    }
    replace(this.list, this.devices.map((d) => this.item(d)));
  }

  item(d) {
    const state = d.online ? 'Online' : 'Offline';
    const seen = !d.online && d.last_seen ? `, last seen ${ago(d.last_seen)}` : '';
    const connect = h('button', {
      type: 'button',
      className: 'primary',
      disabled: !d.online,
      attrs: { 'aria-label': `Connect to ${d.name}` },
      on: { click: () => this.onConnect(d) },
    }, 'Connect');
    const files = h('button', {
      type: 'button',
      className: 'secondary',
      disabled: !d.online,
      attrs: { 'aria-label': `Files of ${d.name}` },
      dataset: { testid: 'device-files' },
      on: { click: () => this.onFiles(d) },
    }, 'Files');
    const owner = d.permission === 'owner';
    const act = (label, fn) => h('button', {
      type: 'button', className: 'secondary small', attrs: { 'aria-label': `${label} ${d.name}` }, on: { click: fn },
    }, label);
    const actions = owner
      ? [act('Rename', () => renameDialog(d, () => this.reload())),
        act('Share', () => shareDialog(d, () => this.reload())),
        act('Consent', () => consentDialog(d, () => this.reload())),
        act('Remove', () => removeDialog(d, () => this.reload()))]
      : [];
    return h('li', { className: 'device', dataset: { testid: 'device', deviceId: d.id, online: String(d.online) } },
      h('span', { className: `dot ${d.online ? 'on' : 'off'}`, attrs: { 'aria-hidden': 'true' } }),
      h('div', { className: 'info' },
        h('span', { className: 'name', dataset: { testid: 'device-name' } }, d.name),
        h('span', { className: 'meta' },
          h('span', { dataset: { testid: 'device-state' } }, state), seen, ' · ', d.os || 'unknown OS', ' · ',
          owner ? 'yours' : `${permissionLabel(d.permission)}, shared by ${d.owner}`)),
      h('div', { className: 'actions' }, ...actions, files, connect));
  }
}
