// The Meshdesk web app: sign-in, then devices and activity, and the session
// view at #/session/DEVICE_ID, a device's Files view at #/files/DEVICE_ID,
// the settings at #/settings. One viewer WebSocket per page carries
// presence, the live feed and session signaling.

import { api } from './api.js';
import { h, replace } from './dom.js';
import { Live } from './live.js';
import { sessionView } from './session/view.js';
import { Devices } from './views/devices.js';
import { Feed } from './views/feed.js';
import { filesView } from './views/files.js';
import { settingsView } from './views/settings.js';
import { signInView } from './views/signin.js';

const root = document.getElementById('app');
const LIST_CHANGES = new Set(['device_enrolled', 'device_renamed', 'device_removed', 'share_granted', 'share_revoked']);

async function start() {
  // The live connection opens while the account is fetched: a session
  // opened by URL is requested a round trip sooner. Without a sign-in the
  // server refuses the upgrade and the connection is dropped again.
  const live = new Live();
  live.start();
  try {
    const me = await account();
    home(me, live);
  } catch (err) {
    live.stop();
    if (err.status === 401) signInView(root, start);
    else {
      const again = h('button', { type: 'button' }, 'Try again');
      again.addEventListener('click', start);
      replace(root, h('div', { className: 'center' }, h('p', { className: 'notice', attrs: { role: 'alert' } }, err.message), again));
    }
  }
}

// Waits between asking again for the account while the server cannot be
// reached or fails (a network change, a server restart): about 7 s in all.
const ACCOUNT_RETRY_MS = [300, 700, 1500, 4500];

/** The signed-in account; a sign-in that is missing is not retried. */
async function account() {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.me();
    } catch (err) {
      const passing = err.status === 0 || err.status >= 500;
      if (!passing || attempt >= ACCOUNT_RETRY_MS.length) throw err;
      await new Promise((r) => setTimeout(r, ACCOUNT_RETRY_MS[attempt]));
    }
  }
}

function home(me, live) {
  const devices = new Devices((d) => { location.hash = `#/session/${encodeURIComponent(d.id)}`; });
  const feed = new Feed();
  let session = null;
  const offline = h('div', { className: 'banner', hidden: true, attrs: { role: 'status' } }, 'Reconnecting to the server…');
  const signOut = h('button', { type: 'button', className: 'secondary small' }, 'Sign out');
  const settings = h('button', { type: 'button', className: 'secondary small', on: { click: () => { location.hash = '#/settings'; } } }, 'Settings');
  const header = h('header', { className: 'top' },
    h('div', { className: 'brand' }, h('span', { className: 'logo', attrs: { 'aria-hidden': 'true' } }), 'Meshdesk'),
    h('span', { className: 'spacer' }),
    h('span', { className: 'user', dataset: { testid: 'username' } }, me.username), settings, signOut);
  const main = h('main', { className: 'home' }, devices.el, feed.el);
  const sessionRoot = h('div', { className: 'session-root' });

  const reloadLists = () => {
    devices.reload();
    feed.reload();
  };
  const opened = () => {
    offline.hidden = true;
    // A session being set up goes first: the lists load a moment later.
    if (location.hash.startsWith('#/session/')) setTimeout(reloadLists, 2000);
    else reloadLists();
  };
  live.on('open', opened);
  // The connection may have been welcomed while the account was fetched.
  if (live.welcomed) opened();
  live.on('close', () => { offline.hidden = false; });
  live.on('presence', (m) => {
    devices.presence(m);
    if (!m.online && session?.deviceId === m.device_id && !session.ended) session.offline();
  });
  live.on('event', (m) => {
    feed.add(m.event);
    if (LIST_CHANGES.has(m.event.kind)) devices.refresh();
  });

  const route = async () => {
    if (location.hash === '#/settings') {
      if (session && !session.ended) session.close();
      session = null;
      settingsView(root, header, () => { location.hash = '#/'; });
      return;
    }
    const match = location.hash.match(/^#\/(session|files)\/([^?]+)(?:\?(.*))?$/);
    if (!match) {
      if (session && !session.ended) session.close();
      session = null;
      replace(root, header, offline, main);
      feed.shown();
      return;
    }
    const [, kind, rawId, query] = match;
    const id = decodeURIComponent(rawId);
    if (session?.deviceId === id && session.kind === kind) return;
    // Known from the list, or opened by URL: the session request says
    // whether the device exists and may be used, and its reply names it.
    const device = devices.find(id) ?? { id, name: 'remote PC' };
    replace(root, offline, sessionRoot);
    const open = () => {
      // ?screen=ID (in the link or the page's query): the monitor to show first.
      const screen = new URLSearchParams(query ?? location.search).get('screen');
      const closed = () => {
        session = null;
        location.hash = '#/';
      };
      session = kind === 'files'
        ? filesView(sessionRoot, live, device, closed)
        : sessionView(sessionRoot, live, device, screen, closed);
      session.kind = kind;
    };
    // The session is requested over the WebSocket: wait for it if needed.
    if (live.welcomed) open();
    else {
      const off = live.on('open', () => {
        off();
        open();
      });
    }
  };

  signOut.addEventListener('click', async () => {
    signOut.disabled = true;
    try {
      await api.signOut();
    } catch { /* signed out locally anyway */ }
    live.stop();
    feed.destroy();
    window.removeEventListener('hashchange', route);
    location.hash = '';
    signInView(root, start);
  });

  window.addEventListener('hashchange', route);
  route();
}

start();
