// Runs first, as a classic script in the page's head, before the modules
// load: it watches the modules load, asks for the account, and for a
// session link (#/session/DEVICE_ID) it opens the viewer WebSocket and
// requests the session at once, so the server and the host set it up while
// the app is still loading. Everything the server sends is kept, in order,
// for the app's live connection to take over (live.js, `adoptEarly`).
// Without a sign-in the upgrade fails and the app starts as usual.
(() => {
  // A module that fails to load (the network changed under the page, the
  // server restarted mid-load) leaves the app unstarted. Load the page
  // once more; if that fails as well, say so instead of "Loading…".
  const RELOADED_AT = 'meshdesk.reloadedAfterLoadError';
  window.addEventListener('error', (e) => {
    const script = e.target;
    if (!(script instanceof HTMLScriptElement) || script.type !== 'module') return;
    // Once per 10 s at most, so that a lasting failure cannot loop; where
    // storage is refused, not at all.
    let again = false;
    try {
      again = Date.now() - Number(sessionStorage.getItem(RELOADED_AT) ?? 0) > 10000;
      if (again) sessionStorage.setItem(RELOADED_AT, String(Date.now()));
    } catch {
      again = false;
    }
    if (again) {
      setTimeout(() => location.reload(), 300);
      return;
    }
    const app = document.getElementById('app');
    const box = document.createElement('div');
    box.className = 'center';
    const text = document.createElement('p');
    text.className = 'notice';
    text.setAttribute('role', 'alert');
    text.textContent = 'Meshdesk could not load. Check your connection, then reload the page.';
    const reload = document.createElement('button');
    reload.type = 'button';
    reload.textContent = 'Reload';
    reload.addEventListener('click', () => location.reload());
    box.append(text, reload);
    app?.replaceChildren(box);
  }, true);
  // The account, asked for now rather than once the modules have loaded:
  // api.js takes this response for the app's first `me()`.
  if (typeof fetch === 'function') {
    window.meshdeskMe = fetch('/api/v1/me', { credentials: 'same-origin' }).catch(() => null);
  }
  // A session link: #/session/DEVICE, optionally ?screen=ID (in the hash
  // or the page's query) for the monitor to show first.
  const match = location.hash.match(/^#\/session\/([^?]+)(?:\?(.*))?$/);
  // Outside a secure context no session can be verified (controller.js):
  // ask for none.
  if (!match || typeof WebSocket !== 'function' || !window.isSecureContext) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws/viewer`;
  const early = {
    ws: new WebSocket(url),
    messages: [],
    deviceId: decodeURIComponent(match[1]),
    screen: new URLSearchParams(match[2] ?? location.search).get('screen'),
    requestId: 'r0',
    requested: false,
  };
  early.onMessage = (e) => {
    early.messages.push(e.data);
    if (!early.requested && e.data.includes('"welcome"')) {
      const request = { type: 'session_request', device_id: early.deviceId, request_id: early.requestId };
      if (early.screen) request.screen = early.screen;
      early.ws.send(JSON.stringify(request));
      early.requested = true;
    }
  };
  early.ws.addEventListener('message', early.onMessage);
  window.meshdeskEarly = early;
})();
