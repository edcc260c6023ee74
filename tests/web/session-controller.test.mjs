// The browser session's controller (signaling/assets/js/session/controller.js)
// through the cases that otherwise need a real WebRTC session, a server and
// a changing network. Pure: no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIRST_FRAME_TIMEOUT_MS, HEARTBEAT_MS, INSECURE_TEXT, MAX_HELD_INPUT, PEER_CLOSE_GRACE_MS, RESUME_RETRY_MS, SessionController, VERIFY_TIMEOUT_MS,
} from '../../signaling/assets/js/session/controller.js';

const created = (extra = {}) => ({
  type: 'session_created', request_id: 'r1', session_id: 's1', permission: 'control',
  ice_servers: [], resume_secret: 'secret', resume_grace_secs: 3, ...extra,
});
const types = (actions) => actions.map((a) => a.type);
/** The device's key matched the pinned one (trust.js). */
const KEY_OK = { type: 'key_checked', state: 'match' };
const sent = (actions) => actions.filter((a) => a.type === 'send').map((a) => a.msg);

/** A controller whose session was created and whose peer connected. */
function running(permission = 'control', render = 'video') {
  const c = new SessionController('dev_1', 'r1', render);
  c.handle(0, KEY_OK);
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, { type: 'server', msg: created({ permission }) });
  c.handle(0, { type: 'server', msg: { type: 'offer', session_id: 's1', sdp: 'v=0' } });
  c.handle(0, { type: 'pc_state', state: 'connected' });
  c.handle(0, { type: 'first_frame' });
  c.handle(0, { type: 'verified', safetyCode: '1234 5678 9012' });
  return c;
}

test('a session is requested, created, and its offer answered', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, KEY_OK);
  assert.deepEqual(sent(c.handle(0, { type: 'start', early: false, online: true })),
    [{ type: 'session_request', device_id: 'dev_1', request_id: 'r1' }]);
  assert.deepEqual(c.handle(0, { type: 'server', msg: created({ request_id: 'other' }) }), [], 'not ours');
  assert.deepEqual(types(c.handle(0, { type: 'server', msg: created() })), ['created', 'status', 'create_peer']);
  assert.deepEqual(c.handle(0, { type: 'server', msg: { type: 'offer', session_id: 's1', sdp: 'v=0' } }),
    [{ type: 'apply_offer', sdp: 'v=0' }]);
  assert.deepEqual(sent(c.handle(0, { type: 'answer', sdp: 'answer' })),
    [{ type: 'answer', session_id: 's1', sdp: 'answer' }]);
});

test('a session link does not request again, and an offline page says so', () => {
  const early = new SessionController('dev_1', 'r1');
  assert.deepEqual(sent(early.handle(0, { type: 'start', early: true, online: true })), []);
  const offline = new SessionController('dev_1', 'r1');
  const actions = offline.handle(0, { type: 'start', early: false, online: false });
  assert.equal(actions.at(-1).type, 'finish');
  assert.match(actions.at(-1).message, /Not connected to the server/);
});

test('a page that is not a secure context asks for no session and says why', () => {
  const c = new SessionController('dev_1', 'r1');
  const actions = c.handle(0, { type: 'start', early: false, online: true, secure: false });
  assert.deepEqual(sent(actions), []);
  assert.deepEqual(actions, [{ type: 'finish', message: INSECURE_TEXT, reason: 'error' }]);
  assert.match(INSECURE_TEXT, /HTTPS/);
});

test('candidates that overtake the offer wait for it, then keep their order', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, KEY_OK);
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, { type: 'server', msg: created() });
  const ice = (n) => ({ type: 'server', msg: { type: 'ice', session_id: 's1', candidate: { candidate: `c${n}` } } });
  assert.deepEqual(c.handle(0, ice(1)), []);
  assert.deepEqual(c.handle(0, ice(2)), []);
  assert.deepEqual(c.handle(0, { type: 'server', msg: { type: 'offer', session_id: 's1', sdp: 'v=0' } }), [
    { type: 'apply_offer', sdp: 'v=0' },
    { type: 'add_ice', candidate: { candidate: 'c1' } },
    { type: 'add_ice', candidate: { candidate: 'c2' } },
  ]);
  assert.deepEqual(c.handle(0, ice(3)), [{ type: 'add_ice', candidate: { candidate: 'c3' } }]);
});

test('a view-only grant never attaches input, a control grant does', () => {
  const view = running('view');
  assert.deepEqual(view.handle(0, { type: 'channel_open', label: 'input' }), []);
  const control = running('control');
  assert.deepEqual(control.handle(0, { type: 'channel_open', label: 'input' }), [{ type: 'attach_input' }]);
});

test('input made before the host proved itself is held, then sent in order once verified', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, KEY_OK);
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, { type: 'server', msg: created() });
  c.handle(0, { type: 'channel_open', label: 'control' });
  assert.deepEqual(c.handle(0, { type: 'channel_open', label: 'input' }), [{ type: 'attach_input' }]);
  const click = (n) => ({ type: 'pointer_button', button: 'left', down: n % 2 === 0 });
  for (let n = 0; n < MAX_HELD_INPUT + 10; n++) assert.deepEqual(c.handle(0, { type: 'local_input', msg: click(n) }), []);
  assert.equal(c.deadline(), VERIFY_TIMEOUT_MS, 'no heartbeat before verification');
  const out = c.handle(5, { type: 'verified', safetyCode: '1234 5678 9012' });
  assert.equal(out[0].type, 'verified');
  assert.deepEqual(out.slice(1), Array.from({ length: MAX_HELD_INPUT }, (_, n) => ({ type: 'input', msg: click(n) })));
  assert.deepEqual(c.handle(6, { type: 'local_input', msg: click(1) }), [{ type: 'input', msg: click(1) }]);
  assert.equal(c.deadline(), 5 + HEARTBEAT_MS);
});

test('held input is dropped when the host does not prove itself', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, KEY_OK);
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, { type: 'server', msg: created() });
  c.handle(0, { type: 'channel_open', label: 'control' });
  c.handle(0, { type: 'channel_open', label: 'input' });
  c.handle(0, { type: 'local_input', msg: { type: 'key', code: 'KeyA', down: true } });
  const out = c.handle(0, { type: 'verify_failed', message: 'bad signature' });
  assert.deepEqual(out.filter((a) => a.type === 'input'), []);
  assert.equal(out.at(-1).type, 'finish');
  assert.deepEqual(c.handle(1, { type: 'local_input', msg: { type: 'key', code: 'KeyA', down: false } }), []);
});

test('a view session never sends input, held or not', () => {
  const view = running('view');
  assert.deepEqual(view.handle(0, { type: 'local_input', msg: { type: 'heartbeat' } }), []);
});

test('a control session sends input heartbeats while its input channel is open; a view one never', () => {
  const c = running('control');
  c.handle(0, { type: 'channel_open', label: 'input' });
  assert.equal(c.deadline(), HEARTBEAT_MS);
  assert.deepEqual(c.handle(HEARTBEAT_MS / 2, { type: 'tick' }), []);
  const beat = [{ type: 'input', msg: { type: 'heartbeat' } }];
  assert.deepEqual(c.handle(HEARTBEAT_MS, { type: 'tick' }), beat);
  assert.deepEqual(c.handle(2 * HEARTBEAT_MS, { type: 'tick' }), beat);
  c.handle(2 * HEARTBEAT_MS, { type: 'channel_close', label: 'input' });
  assert.equal(c.deadline(), null);
  const view = running('view');
  view.handle(0, { type: 'channel_open', label: 'input' });
  assert.equal(view.deadline(), null);
});

test('keyframe requests go on the control channel only once it is open, however many come', () => {
  const c = running();
  assert.deepEqual(c.handle(0, { type: 'request_keyframe' }), [], 'no channel yet');
  c.handle(0, { type: 'channel_open', label: 'control' });
  for (let i = 0; i < 20; i += 1) {
    assert.deepEqual(c.handle(0, { type: 'request_keyframe' }),
      [{ type: 'control', msg: { type: 'request_keyframe' } }]);
  }
});

test('the WebCodecs renderer turns RTCP keyframe requests off when the control channel opens', () => {
  const c = running('control', 'webcodecs');
  assert.deepEqual(c.handle(0, { type: 'channel_open', label: 'control' }),
    [{ type: 'control', msg: { type: 'rtcp_keyframe_requests', enabled: false } }]);
  assert.deepEqual(running().handle(0, { type: 'channel_open', label: 'control' }), []);
});

test('an ICE disconnect says so and the picture resumes on the host\'s restart', () => {
  const c = running();
  assert.deepEqual(c.handle(0, { type: 'pc_state', state: 'disconnected' }),
    [{ type: 'status', text: 'Connection interrupted; reconnecting…' }]);
  assert.deepEqual(c.handle(0, { type: 'server', msg: { type: 'offer', session_id: 's1', sdp: 'restart' } }),
    [{ type: 'apply_offer', sdp: 'restart' }]);
  assert.deepEqual(c.handle(0, { type: 'pc_state', state: 'connected' }), [{ type: 'status', text: null }]);
});

test('a disconnect while the device is offline ends the session', () => {
  const c = running();
  assert.deepEqual(c.handle(0, { type: 'device_offline' }), [], 'still flowing');
  const actions = c.handle(0, { type: 'pc_state', state: 'disconnected' });
  assert.deepEqual(sent(actions), [{ type: 'session_end', session_id: 's1', reason: 'peer_gone' }]);
  assert.equal(actions.at(-1).reason, 'peer_gone');
});

test('a lost signaling link is resumed, retried while the server still holds the old one', () => {
  const c = running();
  assert.deepEqual(c.handle(0, { type: 'ws_close' }), [], 'media goes on');
  assert.deepEqual(sent(c.handle(10, { type: 'ws_open' })),
    [{ type: 'session_resume', session_id: 's1', resume_secret: 'secret' }]);
  const refused = { type: 'server', msg: { type: 'error', session_id: 's1', code: 'forbidden', message: 'busy' } };
  assert.deepEqual(c.handle(20, refused), []);
  assert.equal(c.deadline(), 20 + RESUME_RETRY_MS);
  assert.deepEqual(c.handle(20 + RESUME_RETRY_MS - 1, { type: 'tick' }), []);
  assert.deepEqual(sent(c.handle(20 + RESUME_RETRY_MS, { type: 'tick' })),
    [{ type: 'session_resume', session_id: 's1', resume_secret: 'secret' }]);
  assert.deepEqual(c.handle(30, { type: 'server', msg: { type: 'session_resumed', session_id: 's1' } }), []);
  assert.equal(c.deadline(), null);
});

test('a resume refused for good, or for too long, ends the session', () => {
  const c = running();
  c.handle(0, { type: 'ws_close' });
  c.handle(0, { type: 'ws_open' });
  const gone = { type: 'server', msg: { type: 'error', session_id: 's1', code: 'not_found', message: 'gone' } };
  const actions = c.handle(0, gone);
  assert.equal(actions.at(-1).type, 'finish');
  assert.match(actions.at(-1).message, /could not be resumed/);
  // Grace of 3 s: three attempts, then it gives up.
  const d = running();
  d.handle(0, { type: 'ws_close' });
  d.handle(0, { type: 'ws_open' });
  const busy = { type: 'server', msg: { type: 'error', session_id: 's1', code: 'forbidden', message: 'busy' } };
  let now = 0;
  let last = [];
  for (let i = 0; i < 3; i += 1) {
    last = d.handle(now, busy);
    if (last.length) break;
    now = d.deadline();
    d.handle(now, { type: 'tick' });
  }
  assert.equal(last.at(-1)?.type, 'finish');
});

test('a dropped link before the peer connected ends the session', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, { type: 'server', msg: created() });
  const actions = c.handle(0, { type: 'ws_close' });
  assert.deepEqual(actions, [{ type: 'finish', message: 'Lost the connection to the server.', reason: 'peer_gone' }]);
});

test('no picture within the timeout fails the session; one in time stops the watchdog', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, { type: 'start', early: false, online: true });
  c.handle(0, { type: 'server', msg: created() });
  assert.equal(c.deadline(), FIRST_FRAME_TIMEOUT_MS);
  const late = c.handle(FIRST_FRAME_TIMEOUT_MS, { type: 'tick' });
  assert.deepEqual(sent(late), [{ type: 'session_end', session_id: 's1', reason: 'connection_failed' }]);
  assert.equal(running().deadline(), null);
});

test('the host closing the channels waits briefly for the server to say why', () => {
  // The host closed first, the server's reason follows (a revoke).
  const c = running();
  c.handle(0, { type: 'channel_open', label: 'control' });
  assert.deepEqual(c.handle(0, { type: 'channel_close', label: 'control' }), []);
  assert.equal(c.deadline(), PEER_CLOSE_GRACE_MS);
  const revoked = c.handle(20, { type: 'server', msg: { type: 'session_end', session_id: 's1', reason: 'revoked' } });
  assert.deepEqual(types(revoked), ['finish'], 'the server ended it: no session_end back');
  assert.equal(revoked[0].reason, 'revoked');
  assert.deepEqual(c.handle(PEER_CLOSE_GRACE_MS, { type: 'tick' }), [], 'finished once');
  // No reason follows: the host ended it.
  const d = running();
  d.handle(0, { type: 'channel_close', label: 'control' });
  assert.deepEqual(d.handle(PEER_CLOSE_GRACE_MS - 1, { type: 'tick' }), []);
  const closed = d.handle(PEER_CLOSE_GRACE_MS, { type: 'tick' });
  assert.deepEqual(types(closed), ['finish']);
  assert.equal(closed[0].reason, 'host_closed');
  // A host that went offline first has nobody to speak for it: at once.
  const e = running();
  e.handle(0, { type: 'device_offline' });
  assert.equal(e.handle(0, { type: 'channel_close', label: 'control' })[0].reason, 'host_closed');
});

test('ending from the page tells the server', () => {
  const c = running();
  const actions = c.handle(0, { type: 'end', reason: 'viewer_closed' });
  assert.deepEqual(sent(actions), [{ type: 'session_end', session_id: 's1', reason: 'viewer_closed' }]);
  assert.equal(actions.at(-1).type, 'finish');
});

test('a chosen screen goes in the request, the host\'s screens reach the page, and a choice goes to the host', () => {
  const c = new SessionController('dev_1', 'r1', 'video', 'B');
  c.handle(0, KEY_OK);
  assert.deepEqual(sent(c.handle(0, { type: 'start', early: false, online: true })),
    [{ type: 'session_request', device_id: 'dev_1', request_id: 'r1', screen: 'B' }]);
  const r = running();
  assert.deepEqual(r.handle(0, { type: 'select_screen', id: 'B' }), [], 'no control channel yet');
  r.handle(0, { type: 'channel_open', label: 'control' });
  assert.deepEqual(r.handle(0, { type: 'select_screen', id: 'B' }),
    [{ type: 'control', msg: { type: 'select_screen', id: 'B' } }]);
  const screens = [
    { id: 'A', name: 'A', width: 1280, height: 720, primary: true },
    { id: 'B', name: 'B', width: 1024, height: 768, primary: false },
    { id: 7, width: 'wide' },
  ];
  assert.deepEqual(r.handle(0, { type: 'control_message', msg: { type: 'screens', screens, current: 'B' } }),
    [{ type: 'screens', screens: screens.slice(0, 2), current: 'B' }], 'a malformed entry is dropped');
  assert.deepEqual(r.handle(0, { type: 'control_message', msg: { type: 'screens', screens: 'x', current: 'B' } }), []);
});

test('what the host says of its sound reaches the view, malformed or not', () => {
  const c = running();
  assert.deepEqual(c.handle(0, { type: 'control_message', msg: { type: 'sound', available: false, reason: 'no sound server' } }),
    [{ type: 'sound', available: false, reason: 'no sound server' }]);
  assert.deepEqual(c.handle(0, { type: 'control_message', msg: { type: 'sound', available: 'yes', reason: 7 } }),
    [{ type: 'sound', available: false, reason: null }]);
});

test('what the host says of its video quality reaches the view, malformed or not', () => {
  const c = running();
  const msg = { type: 'quality', estimate_kbps: 1850, loss: 0.01, bitrate_kbps: 1800, fps: 20, adaptive: true };
  assert.deepEqual(c.handle(0, { type: 'control_message', msg }),
    [{ type: 'quality', quality: { bitrateKbps: 1800, fps: 20, estimateKbps: 1850, loss: 0.01, scale: 1, adaptive: true } }]);
  assert.deepEqual(c.handle(0, { type: 'control_message', msg: { ...msg, estimate_kbps: undefined, adaptive: 'no', scale: 2 } }),
    [{ type: 'quality', quality: { bitrateKbps: 1800, fps: 20, estimateKbps: null, loss: 0.01, scale: 2, adaptive: false } }]);
  assert.deepEqual(c.handle(0, { type: 'control_message', msg: { ...msg, bitrate_kbps: -1 } }), []);
  assert.deepEqual(c.handle(0, { type: 'control_message', msg: { ...msg, fps: '30' } }), []);
});

test('a page that plays the sound itself asks for the sound channel once it and control are open', () => {
  for (const order of [['sound', 'control'], ['control', 'sound']]) {
    const c = running();
    c.soundChannel = true;
    const ask = { type: 'control', msg: { type: 'sound_channel', enabled: true } };
    assert.ok(!c.handle(0, { type: 'channel_open', label: order[0] }).some((a) => a.msg?.type === 'sound_channel'));
    assert.deepEqual(c.handle(0, { type: 'channel_open', label: order[1] })[0], ask, order.join(' then '));
  }
  const plain = running();
  plain.handle(0, { type: 'channel_open', label: 'sound' });
  assert.deepEqual(plain.handle(0, { type: 'channel_open', label: 'control' }), [], 'a page that does not asks nothing');
});
