// A device's Files view (#/files/DEVICE_ID): the folders its owner shares
// (host config `[files] shared`), browsed over a files-only session (no
// screen, no video): a breadcrumb, a table of name, size and modified
// time, "Download" for a file, and with control "Upload" into the folder
// shown (not at the top, the list of shared folders itself). The session
// and its transfers are the same code as the session view's
// (session/connection.js, session/files-channel.js).

import { h, replace } from '../dom.js';
import { permissionLabel } from '../format.js';
import { humanBytes } from '../session/clipboard.js';
import { Connection } from '../session/connection.js';
import { FilesChannel } from '../session/files-channel.js';
import { joinPath, pathSteps } from '../session/files.js';
import { transferList } from '../session/transfer-list.js';

const when = (ms) => (ms === null ? '' : new Date(ms).toLocaleString(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
}));

function buildPage(root, device, act) {
  const back = h('button', { type: 'button', className: 'secondary small', on: { click: () => act.close() } }, '← Devices');
  const title = h('h1', {}, `Files on ${device.name}`);
  const mode = h('span', { className: 'badge', dataset: { testid: 'session-mode' } });
  const verified = h('span', { className: 'badge verified', hidden: true, dataset: { testid: 'session-verified' } });
  const status = h('p', { className: 'hint', dataset: { testid: 'files-status' }, attrs: { role: 'status', 'aria-live': 'polite' } }, 'Connecting…');
  const crumbs = h('nav', { className: 'crumbs', dataset: { testid: 'files-breadcrumb' }, attrs: { 'aria-label': 'Folder' } });
  const picker = h('input', {
    type: 'file', multiple: true, hidden: true, dataset: { testid: 'files-upload-input' },
    on: { change: (e) => { act.upload([...e.target.files]); e.target.value = ''; } },
  });
  const upload = h('button', {
    type: 'button', className: 'primary small', hidden: true, dataset: { testid: 'files-upload' }, on: { click: () => picker.click() },
  }, 'Upload');
  const body = h('tbody');
  const table = h('table', { className: 'files', hidden: true, dataset: { testid: 'files-table' } },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Size'), h('th', {}, 'Modified'), h('th', {}, h('span', { className: 'sr' }, 'Actions')))),
    body);
  const empty = h('p', { className: 'empty', hidden: true, dataset: { testid: 'files-empty' } });
  const transfers = transferList((id) => act.cancel(id));
  const ended = h('div', { className: 'files-ended', hidden: true });
  const panel = h('section', { className: 'panel files-panel', attrs: { 'aria-label': `Files on ${device.name}` } },
    h('header', {}, h('div', { className: 'row' }, title, mode, verified), back),
    status, h('div', { className: 'files-bar' }, crumbs, upload, picker), table, empty, transfers.el, ended);
  const view = h('main', { className: 'files-page', dataset: { testid: 'files-view' } }, panel);
  replace(root, view);
  return { view, title, mode, verified, status, crumbs, upload, body, table, empty, transfers, ended, back };
}

/** The breadcrumb of `path`: the shared folders, then each folder in it. */
function showCrumbs(page, path, open) {
  const step = (name, to, last) => (last
    ? h('span', { attrs: { 'aria-current': 'location' } }, name)
    : h('button', { type: 'button', className: 'link', on: { click: () => open(to) } }, name));
  const steps = pathSteps(path);
  const parts = [step('Shared folders', '', steps.length === 0)];
  steps.forEach((s, i) => parts.push(h('span', { className: 'sep', attrs: { 'aria-hidden': 'true' } }, '/'),
    step(s.name, s.path, i === steps.length - 1)));
  replace(page.crumbs, ...parts);
}

function entryRow(entry, path, act) {
  const full = joinPath(path, entry.name);
  const folder = entry.kind === 'folder';
  const name = folder
    ? h('button', { type: 'button', className: 'link', on: { click: () => act.open(full) } }, entry.name)
    : h('span', {}, entry.name);
  const download = folder ? '' : h('button', {
    type: 'button', className: 'secondary small', attrs: { 'aria-label': `Download ${entry.name}` }, on: { click: () => act.download(full) },
  }, 'Download');
  return h('tr', { dataset: { testid: 'files-entry', name: entry.name, kind: entry.kind } },
    h('td', { className: `name ${entry.kind}` }, name),
    h('td', { className: 'size' }, folder ? '' : humanBytes(entry.size)),
    h('td', { className: 'modified' }, when(entry.modifiedMs)),
    h('td', { className: 'actions' }, download));
}

export function filesView(root, live, device, onClose) {
  let ended = false;
  let files = null;
  let mayUpload = false;
  // The folder shown, or being opened.
  let path = '';
  const act = {
    close: () => close(),
    open: (to) => open(to),
    download: (full) => files?.get(full),
    upload: (list) => files?.send(list, path),
    cancel: (id) => files?.cancel(id),
  };
  const page = buildPage(root, device, act);

  function open(to) {
    path = to;
    page.status.textContent = 'Loading…';
    page.status.removeAttribute('data-kind');
    files?.list(to);
  }

  function showListing({ path: at, entries, truncated }) {
    if (at !== path) return;
    showCrumbs(page, at, open);
    replace(page.body, ...entries.map((e) => entryRow(e, at, act)));
    page.table.hidden = entries.length === 0;
    page.empty.hidden = entries.length > 0;
    page.empty.textContent = at ? 'This folder is empty.' : 'This PC shares no folders.';
    page.status.textContent = truncated ? 'This folder has more entries than are shown.' : '';
    page.upload.hidden = !mayUpload || at === '';
  }

  function listFailed({ path: at, message }) {
    if (at !== path) return;
    page.status.textContent = message;
    page.status.dataset.kind = 'error';
  }

  const conn = new Connection(live, device.id, {
    filesOnly: true,
    state: (t) => { if (t) page.status.textContent = t; },
    created: (m) => {
      if (m.device_name) page.title.textContent = `Files on ${m.device_name}`;
      mayUpload = m.permission !== 'view';
      page.mode.textContent = permissionLabel(m.permission);
      page.mode.dataset.kind = m.permission === 'view' ? 'view' : 'control';
    },
    verified: (safetyCode) => {
      page.verified.textContent = `Verified ${safetyCode}`;
      page.verified.hidden = false;
    },
    files: (port) => {
      files = new FilesChannel(port, {
        row: (row) => {
          page.transfers.update(row);
          // A file sent into the folder shown: show it there.
          if (row.kind === 'put' && row.state === 'done') open(path);
        },
        listing: showListing,
        listFailed,
        notice: (t) => { page.status.textContent = t; },
      });
      open(path);
    },
    ended: (message) => {
      ended = true;
      files?.close();
      page.upload.hidden = true;
      replace(page.ended, h('p', { dataset: { testid: 'session-ended' } }, message),
        h('button', { type: 'button', className: 'primary', on: { click: () => close() } }, 'Back to devices'));
      page.ended.hidden = false;
    },
  });

  function close() {
    if (!ended) conn.end('viewer_closed');
    onClose();
  }

  conn.start();
  return {
    deviceId: device.id,
    offline: () => conn.deviceOffline(),
    close,
    get ended() { return ended; },
  };
}
