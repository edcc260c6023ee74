// Runs first, as a classic script in the page's head, before the modules
// load: it asks for the account, and for a session link
// (#/session/DEVICE_ID) it opens the viewer WebSocket and requests the
// session at once, so the server and the host set it up while the app is
// still loading. Everything the server sends
// is kept, in order, for the app's live connection to take over
// (live.js, `adoptEarly`). Without a sign-in the upgrade fails and the
// app starts as usual.
(() => {
  // The account, asked for now rather than once the modules have loaded:
  // api.js takes this response for the app's first `me()`.
  if (typeof fetch === 'function') {
    window.meshdeskMe = fetch('/api/v1/me', { credentials: 'same-origin' }).catch(() => null);
  }
  const match = location.hash.match(/^#\/session\/(.+)$/);
  if (!match || typeof WebSocket !== 'function') return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws/viewer`;
  const early = {
    ws: new WebSocket(url),
    messages: [],
    deviceId: decodeURIComponent(match[1]),
    requestId: 'r0',
    requested: false,
  };
  early.onMessage = (e) => {
    early.messages.push(e.data);
    if (!early.requested && e.data.includes('"welcome"')) {
      early.ws.send(JSON.stringify({ type: 'session_request', device_id: early.deviceId, request_id: early.requestId }));
      early.requested = true;
    }
  };
  early.ws.addEventListener('message', early.onMessage);
  window.meshdeskEarly = early;
})();
