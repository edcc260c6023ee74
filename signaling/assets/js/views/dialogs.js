// Owner actions on a device, and adding a device, as modal dialogs.

import { api } from '../api.js';
import { dialog, field, h, notice, replace } from '../dom.js';
import { permissionLabel, shareEnd, untilText } from '../format.js';

/** Run `fn` for a form submit, showing its error in `msg`. */
function submitter(form, msg, fn) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await fn();
    } catch (err) {
      msg.show(err.message);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}

export function renameDialog(device, done) {
  const name = field('Name', { value: device.name, required: true, maxLength: 64 });
  const msg = notice();
  const form = h('form', { method: 'dialog' }, name, msg,
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'primary' }, 'Rename')));
  const d = dialog(`Rename ${device.name}`, form);
  submitter(form, msg, async () => {
    await api.rename(device.id, name.input.value.trim());
    d.close();
    done();
  });
  name.input.select();
}

export function removeDialog(device, done) {
  const msg = notice();
  const form = h('form', { method: 'dialog' },
    h('p', {}, `Remove ${device.name} from your account? Its host agent is disconnected at once and cannot come back with its current key; enroll it again to use it.`),
    msg,
    h('div', { className: 'actions' },
      h('button', { type: 'button', className: 'secondary', on: { click: () => d.close() } }, 'Cancel'),
      h('button', { type: 'submit', className: 'danger' }, 'Remove device')));
  const d = dialog(`Remove ${device.name}`, form);
  submitter(form, msg, async () => {
    await api.remove(device.id);
    d.close();
    done();
  });
}

export function shareDialog(device, done) {
  const list = h('ul', { className: 'shares', attrs: { 'aria-label': 'People with access' } });
  const username = field('Username', { required: true, maxLength: 32, autocomplete: 'off' });
  const perm = h('select', { id: 'share-permission' },
    h('option', { value: 'view' }, 'View only'), h('option', { value: 'control' }, 'Control'));
  const ends = h('select', { id: 'share-ends' },
    h('option', { value: 'never' }, 'No end'), h('option', { value: '1h' }, '1 hour'),
    h('option', { value: '1d' }, '1 day'), h('option', { value: '1w' }, '1 week'),
    h('option', { value: 'custom' }, 'Custom'));
  const custom = field('Ends at', { type: 'datetime-local' });
  custom.hidden = true;
  ends.addEventListener('change', () => { custom.hidden = ends.value !== 'custom'; });
  const msg = notice();
  const form = h('form', { method: 'dialog', className: 'share-form' },
    h('div', { className: 'row' }, username,
      h('div', { className: 'field' }, h('label', { htmlFor: 'share-permission' }, 'Access'), perm),
      h('div', { className: 'field' }, h('label', { htmlFor: 'share-ends' }, 'Ends'), ends)),
    custom,
    msg,
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'primary' }, 'Share')));
  const d = dialog(`Share ${device.name}`, h('h3', {}, 'People with access'), list, h('h3', {}, 'Add someone'), form);

  const load = async () => {
    try {
      const shares = await api.shares(device.id);
      replace(list, shares.length
        ? shares.map((s) => h('li', {},
          h('span', { className: 'who' }, s.username),
          h('span', { className: 'badge', dataset: { kind: s.permission } }, permissionLabel(s.permission)),
          s.expires_at ? h('span', { className: 'until' }, untilText(s.expires_at)) : null,
          h('button', {
            type: 'button',
            className: 'secondary small',
            attrs: { 'aria-label': `Revoke access for ${s.username}` },
            on: {
              click: async () => {
                try {
                  await api.revoke(device.id, s.username);
                  await load();
                  done();
                } catch (err) {
                  msg.show(err.message);
                }
              },
            },
          }, 'Revoke')))
        : h('li', { className: 'empty' }, 'Only you.'));
    } catch (err) {
      msg.show(err.message);
    }
  };
  submitter(form, msg, async () => {
    const u = username.input.value.trim();
    if (!u) throw new Error('Enter the username to share with.');
    await api.share(device.id, u, perm.value, shareEnd(ends.value, custom.input.value, Date.now()));
    username.input.value = '';
    msg.show(`Shared with ${u} (${permissionLabel(perm.value)}).`, 'ok');
    await load();
    done();
  });
  load();
  username.input.focus();
}

/**
 * The command that enrolls a host with this server; `fingerprint` is a
 * self-signed server's (from the enrollment code reply), which the host pins.
 */
export function enrollCommand(origin, code, fingerprint = null) {
  const pin = fingerprint ? ` --server-fingerprint ${fingerprint}` : '';
  return `meshdesk-host enroll --server ${origin}${pin} --code ${code}`;
}

/**
 * The line that installs, enrolls and starts a host from this server
 * (/install.sh). A self-signed server's `pin` (curl's --pinnedpubkey form)
 * stands in for the CA check curl cannot make.
 */
export function installCommand(origin, code, pin = null) {
  const trust = pin ? ` --insecure --pinnedpubkey '${pin}'` : '';
  return `curl -fsSL${trust} ${origin}/install.sh | sh -s -- --code ${code}`;
}

/** A command in a code box with a Copy button (named `label` for screen readers). */
function copyLine(text, testid, label) {
  const pre = h('code', { className: 'command', dataset: { testid } }, text);
  const copy = h('button', { type: 'button', className: 'secondary small', attrs: label ? { 'aria-label': label } : {} }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = 'Copied';
    } catch {
      window.getSelection().selectAllChildren(pre);
      copy.textContent = 'Press Ctrl+C';
    }
  });
  return h('div', { className: 'copyline' }, pre, copy);
}

export async function addDeviceDialog() {
  const msg = notice();
  const body = h('div', { className: 'enroll' }, h('p', {}, 'Creating a one-time code…'));
  const d = dialog('Add a device', body, msg);
  try {
    const { code, expires_at: expires, server_fingerprint: fingerprint, server_pin: pin } = await api.enrollmentCode();
    const install = copyLine(installCommand(location.origin, code, pin), 'install-command', 'Copy install line');
    const enroll = copyLine(enrollCommand(location.origin, code, fingerprint), 'enroll-command', null);
    const minutes = Math.max(1, Math.round((expires - Date.now()) / 60000));
    const at = new Date(expires).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    replace(body,
      h('p', {}, 'On the PC you want to add, paste this line into a terminal: it downloads the host from this server, checks it, installs it, enrolls the PC and starts the agent.'),
      install,
      h('p', {}, 'Or, where meshdesk-host is installed already, run:'),
      enroll,
      h('p', { className: 'hint' }, `The code works once and expires at ${at} (in ${minutes} min). Then start the agent with `, h('code', {}, 'meshdesk-host run'), '. The device appears here as soon as it connects.'));
  } catch (err) {
    replace(body);
    msg.show(err.message);
  }
  return d;
}
