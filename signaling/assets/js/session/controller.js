// Every decision of one browser session, as a plain state machine: no
// DOM, no WebSocket, no RTCPeerConnection, no timers. The driver
// (connection.js) turns what happens into events for `handle(now, event)`
// and carries out the actions it returns, in order; `deadline()` says when
// to call again with {type: 'tick'} if nothing else happens.
// docs/protocol.md section 10 gives the order of messages.
//
// Events: start {early, online, secure}, server {msg}, ws_open, ws_close,
// pc_state {state}, answer {sdp}, local_ice {candidate}, offer_failed,
// channel_open {label}, channel_close {label}, first_frame,
// device_offline, request_keyframe, end {reason, message}, tick,
// key_checked {state: 'new'|'match'|'changed'|'error', message, pinnedCode,
// newCode}, control_message {msg}, verified {safetyCode},
// verify_failed {message}, local_input {msg}, select_screen {id}.
// Actions: send {msg}, control {msg}, status {text}, created {msg},
// create_peer {iceServers}, apply_offer {sdp}, add_ice {candidate},
// attach_input, input {msg}, finish {message, reason}, verify {signature},
// verified {safetyCode}, key_changed {pinnedCode, newCode}, check_key {key},
// screens {screens, current}, sound {available, reason}, quality {quality},
// files_ready, clipboard_ready.
// A files-only session (the device's Files view, `filesOnly`) asks for no
// picture: its `files` channel opening is what the first frame is to a
// screen session. The `files` and `clipboard` channels are handed to the
// page (files_ready, clipboard_ready) only once the host proved itself.
// Trust (see trust.js): no peer is made before the device's key matched
// the pinned one, and no input goes out before the host's DTLS binding
// verified with it: what the user does before that (a click on the first
// picture) is held, and sent once verified, or dropped if it never is.
// The native viewer decides the same things in viewer/src/session/controller.rs.

import { endMessage, requestError } from '../format.js';

/** No picture this long after the request: the connection failed. */
export const FIRST_FRAME_TIMEOUT_MS = 20000;
/** Longest a host may keep its consent prompt up (600 s), and some slack. */
export const CONSENT_WAIT_MS = 620000;
export const CONSENT_WAITING_TEXT = 'Waiting for the remote user to allow the session';
// While the server still holds the session for an old, dead connection of
// ours, it refuses a resume with `forbidden` and checks that connection;
// ask again this often, for as long as it keeps the session
// (`resume_grace_secs` in `session_created`; docs/protocol.md section 10.4).
export const RESUME_RETRY_MS = 1000;
export const DEFAULT_RESUME_GRACE_SECS = 30;
// The host closes the data channels as soon as a session ends. When the
// server ended it (a revoke, a removed device), that close can reach the
// page before the server's session_end, which says why (10 to 20 ms before
// it on a loaded machine): wait this long for it before concluding that
// the host closed the session itself.
export const PEER_CLOSE_GRACE_MS = 1000;
// A session with control sends an input heartbeat this often, so the host
// can release what we hold within 2 s if the tab dies or the network goes
// (it releases after 1.5 s of input silence; docs/protocol.md section 9).
export const HEARTBEAT_MS = 500;
/** The host's binding signature must arrive this soon after `control` opens. */
export const VERIFY_TIMEOUT_MS = 10000;
/** Input held while the binding is checked: at most this many messages. */
export const MAX_HELD_INPUT = 256;
const NOT_VERIFIED = 'Could not verify the remote PC: ';
// Checking the host's signature needs WebCrypto, which browsers give only
// to secure contexts (HTTPS, or this PC's own 127.0.0.1 and localhost).
// Without it a session could not prove who is at the other end, so none
// starts.
export const INSECURE_TEXT = 'This page is not a secure connection, so the remote PC cannot be verified. '
  + 'Open Meshdesk over HTTPS (or as http://127.0.0.1 on the server itself).';

export class SessionController {
  /**
   * `requestId` names our `session_request`; `render` is the surface's
   * mode ('video' or 'webcodecs'); `screen` the monitor to show first
   * (null: the remote PC's primary).
   */
  constructor(deviceId, requestId, render = 'video', screen = null) {
    this.deviceId = deviceId;
    this.screen = screen;
    this.requestId = requestId;
    this.render = render;
    this.sessionId = null;
    this.permission = null;
    this.resumeSecret = null;
    this.resumeAttempts = 0;
    this.resumeAttempt = 0;
    this.resuming = false;
    this.resumeAt = null;
    this.online = false;
    this.offerSeen = false;
    this.pendingIce = [];
    this.connected = false;
    this.pcState = 'new';
    this.offline = false;
    this.firstFrame = false;
    this.firstFrameAt = null;
    this.open = new Set();
    // Whether the page plays the sound itself (set by the connection).
    this.soundChannel = false;
    // A files-only session (set by the connection): no picture.
    this.filesOnly = false;
    // The `files` and `clipboard` channels handed to the page.
    this.handedOver = new Set();
    this.closedAt = null;
    this.heartbeatAt = null;
    this.done = false;
    // Trust: 'pending' until the device's key was compared with the pin.
    this.keyState = 'pending';
    this.keyChange = null;
    this.pendingPeer = null;
    this.pendingOffer = null;
    this.verified = false;
    this.verifying = false;
    this.verifyAt = null;
    this.heldInput = [];
  }

  /** When to call `handle(now, {type: 'tick'})` next, or null. */
  deadline() {
    const verifyAt = this.verified ? null : this.verifyAt;
    const at = [this.firstFrame ? null : this.firstFrameAt, this.resumeAt, this.closedAt, verifyAt, this.heartbeatAt]
      .filter((t) => t !== null);
    return at.length ? Math.min(...at) : null;
  }

  handle(now, e) {
    if (this.done) return [];
    switch (e.type) {
      case 'start': return this.start(now, e);
      case 'server': return this.fromServer(now, e.msg);
      case 'ws_open': return this.wsOpen();
      case 'ws_close': return this.wsClose();
      case 'pc_state': return this.peerState(e.state);
      case 'answer': return [this.send({ type: 'answer', session_id: this.sessionId, sdp: e.sdp })];
      case 'local_ice': return [this.send({ type: 'ice', session_id: this.sessionId, candidate: e.candidate })];
      case 'offer_failed': return this.end('connection_failed', 'The remote PC sent a session description this browser cannot use.');
      case 'channel_open': return this.channelOpen(now, e.label);
      case 'key_checked': return this.keyChecked(e);
      case 'control_message': return this.controlMessage(e.msg);
      case 'verified': return this.verifiedNow(now, e.safetyCode);
      case 'local_input': return this.localInput(e.msg);
      case 'select_screen':
        return this.open.has('control') ? [{ type: 'control', msg: { type: 'select_screen', id: String(e.id) } }] : [];
      case 'verify_failed': return this.end('connection_failed', NOT_VERIFIED + e.message);
      case 'channel_close': return this.channelClose(now, e.label);
      case 'first_frame':
        this.firstFrame = true;
        return [{ type: 'status', text: null }];
      case 'device_offline': return this.deviceOffline();
      case 'request_keyframe':
        return this.open.has('control') ? [{ type: 'control', msg: { type: 'request_keyframe' } }] : [];
      case 'end': return this.end(e.reason, e.message);
      case 'tick': return this.tick(now);
      default: return [];
    }
  }

  send(msg) {
    return { type: 'send', msg };
  }

  start(now, e) {
    this.online = e.online;
    this.firstFrameAt = now + FIRST_FRAME_TIMEOUT_MS;
    if (e.secure === false) return this.finish(INSECURE_TEXT, 'error');
    const out = [{ type: 'status', text: 'Requesting a session…' }];
    // A session link's request may have gone out before the app loaded.
    if (e.early) return out;
    if (!e.online) return [...out, ...this.finish('Not connected to the server. Try again in a moment.', 'error')];
    const request = { type: 'session_request', device_id: this.deviceId, request_id: this.requestId };
    if (this.screen) request.screen = this.screen;
    if (this.filesOnly) request.files_only = true;
    return [...out, this.send(request)];
  }

  // The WebSocket came back after a drop (a network change): take the
  // running session back. Media kept flowing peer to peer meanwhile.
  wsOpen() {
    this.online = true;
    return this.connected ? this.resume(0) : [];
  }

  // Media is peer to peer: a dropped signaling socket does not end a
  // running session, but one still being set up cannot finish.
  wsClose() {
    this.online = false;
    return this.connected ? [] : this.finish('Lost the connection to the server.', 'peer_gone');
  }

  /** The device went offline: a session that is not flowing is over. */
  deviceOffline() {
    this.offline = true;
    return this.connected && this.pcState === 'connected' ? [] : this.end('peer_gone', 'The remote PC went offline.');
  }

  mine(m) {
    return this.sessionId !== null && m.session_id === this.sessionId;
  }

  /** End from this side: tell the host (through the server), then finish. */
  end(reason = 'viewer_closed', message = endMessage(reason)) {
    const out = [];
    if (this.sessionId) out.push(this.send({ type: 'session_end', session_id: this.sessionId, reason }));
    return [...out, ...this.finish(message, reason)];
  }

  finish(message, reason) {
    this.done = true;
    return [{ type: 'finish', message, reason }];
  }

  resume(attempt) {
    if (!this.resumeAttempts) {
      return this.finish('Lost the connection to the server, which keeps no session over a lost connection.', 'peer_gone');
    }
    this.resuming = true;
    this.resumeAttempt = attempt;
    this.resumeAt = null;
    const msg = { type: 'session_resume', session_id: this.sessionId };
    if (this.resumeSecret) msg.resume_secret = this.resumeSecret;
    return [{ type: 'send', msg }];
  }

  resumeRefused(now, m) {
    if (m.code === 'forbidden' && this.resumeAttempt + 1 < this.resumeAttempts) {
      this.resumeAt = now + RESUME_RETRY_MS;
      return [];
    }
    this.resuming = false;
    return this.finish('Lost the connection to the server and the session could not be resumed.', 'peer_gone');
  }

  created(now, m) {
    this.sessionId = m.session_id;
    this.permission = m.permission;
    // Proves on a resume that this page asked for the session.
    this.resumeSecret = m.resume_secret ?? null;
    const grace = m.resume_grace_secs ?? DEFAULT_RESUME_GRACE_SECS;
    this.resumeAttempts = Math.ceil((grace * 1000) / RESUME_RETRY_MS);
    if (this.keyState === 'changed') return this.keyChangedEnd();
    const out = [
      { type: 'created', msg: m },
      { type: 'status', text: 'Waiting for the remote PC to accept…' },
    ];
    // The device's key comes with the session; the driver compares it
    // with the pinned one and reports `key_checked`.
    if (this.keyState === 'pending') out.push({ type: 'check_key', key: m.device_public_key ?? null });
    const peer = { type: 'create_peer', iceServers: m.ice_servers ?? [] };
    if (this.keyState === 'ok') return [...out, peer];
    this.pendingPeer = peer;
    return out;
  }

  /** Offers (the first, and ICE restarts) and candidates keep their order. */
  offer(m) {
    // No media before the device's key matched the pinned one.
    if (this.keyState !== 'ok') {
      this.pendingOffer = m;
      return [];
    }
    this.offerSeen = true;
    const held = this.pendingIce.splice(0).map((candidate) => ({ type: 'add_ice', candidate }));
    return [{ type: 'apply_offer', sdp: m.sdp }, ...held];
  }

  ice(m) {
    // A candidate may overtake the offer that announced it.
    if (!this.offerSeen) {
      this.pendingIce.push(m.candidate);
      return [];
    }
    return [{ type: 'add_ice', candidate: m.candidate }];
  }

  fromServer(now, m) {
    if (m.type === 'session_created') return m.request_id === this.requestId ? this.created(now, m) : [];
    if (m.type === 'error' && m.request_id === this.requestId) return this.finish(requestError(m.code, m.message), 'error');
    if (!this.mine(m)) return [];
    switch (m.type) {
      case 'error':
        if (this.resuming) return this.resumeRefused(now, m);
        console.warn(`server error for this session: ${m.code}: ${m.message}`);
        return [];
      case 'session_resumed':
        this.resuming = false;
        console.info('session resumed on the new connection');
        return [];
      case 'session_accepted': return [{ type: 'status', text: 'Connecting…' }];
      case 'consent': return this.consent(now, m.state);
      case 'offer': return this.offer(m);
      case 'ice': return this.ice(m);
      case 'session_end': return this.finish(endMessage(m.reason, m.detail), m.reason);
      default: return [];
    }
  }

  // The person at the remote PC is asked first (consent `prompt`): no
  // picture can come before they answer, for up to the host's timeout.
  // A deny arrives as session_end `declined`.
  consent(now, state) {
    if (state === 'waiting') {
      this.firstFrameAt = now + CONSENT_WAIT_MS;
      return [{ type: 'status', text: CONSENT_WAITING_TEXT }];
    }
    if (state === 'allowed') {
      this.firstFrameAt = now + FIRST_FRAME_TIMEOUT_MS;
      return [{ type: 'status', text: 'Connecting…' }];
    }
    return [];
  }

  peerState(state) {
    this.pcState = state;
    if (state === 'connected') {
      this.connected = true;
      return this.firstFrame ? [{ type: 'status', text: null }] : [];
    }
    if (state === 'failed' && !this.verified) {
      return this.end('connection_failed', `${NOT_VERIFIED}the secure connection failed before it proved its identity (the DTLS fingerprint relayed by the server may not be the remote PC's).`);
    }
    if (state === 'failed') return this.end('connection_failed', 'The connection to the remote PC failed.');
    if (state === 'disconnected' && this.offline) return this.end('peer_gone', 'The remote PC went offline.');
    // The host restarts ICE and sends a new offer; the picture resumes.
    if (state === 'disconnected') return [{ type: 'status', text: 'Connection interrupted; reconnecting…' }];
    if (state === 'closed') return this.finish(endMessage('host_closed'), 'host_closed');
    return [];
  }

  keyChecked(e) {
    if (e.state === 'error') return this.end('viewer_closed', NOT_VERIFIED + e.message);
    if (e.state === 'changed') {
      this.keyState = 'changed';
      this.keyChange = { pinnedCode: e.pinnedCode, newCode: e.newCode };
      // Before `session_created` there is no session to end yet.
      return this.sessionId ? this.keyChangedEnd() : [];
    }
    this.keyState = 'ok';
    const out = [];
    if (this.pendingPeer) out.push(this.pendingPeer);
    if (this.pendingOffer) out.push(...this.offer(this.pendingOffer));
    this.pendingPeer = null;
    this.pendingOffer = null;
    return out;
  }

  keyChangedEnd() {
    const { pinnedCode, newCode } = this.keyChange;
    const message = 'Warning: the key of this remote PC has changed since you first connected '
      + `(safety code ${pinnedCode} before, ${newCode} now). Someone may be intercepting the connection, `
      + 'so it was stopped. If the PC was enrolled again, compare the new safety code with '
      + '`meshdesk-host status` on it before you trust the new key.';
    // `key_changed` is the page's reason; the server is told the viewer closed.
    const out = [{ type: 'key_changed', pinnedCode, newCode }];
    if (this.sessionId) out.push(this.send({ type: 'session_end', session_id: this.sessionId, reason: 'viewer_closed' }));
    return [...out, ...this.finish(message, 'key_changed')];
  }

  controlMessage(msg) {
    if (msg?.type === 'screens') return this.screensMessage(msg);
    if (msg?.type === 'sound') {
      return [{ type: 'sound', available: msg.available === true, reason: typeof msg.reason === 'string' ? msg.reason : null }];
    }
    if (msg?.type === 'quality') return this.qualityMessage(msg);
    if (msg?.type !== 'binding' || this.verified || this.verifying) return [];
    this.verifying = true;
    return [{ type: 'verify', signature: String(msg.signature ?? '') }];
  }

  /**
   * What the host's video aims at (adaptive quality): its estimate of the
   * path and the encoder's bitrate and frame rate. Malformed: dropped.
   */
  qualityMessage(msg) {
    const count = (v) => Number.isInteger(v) && v >= 0;
    if (!count(msg.bitrate_kbps) || !count(msg.fps)) return [];
    return [{
      type: 'quality',
      quality: {
        bitrateKbps: msg.bitrate_kbps,
        fps: msg.fps,
        estimateKbps: count(msg.estimate_kbps) ? msg.estimate_kbps : null,
        loss: Number.isFinite(msg.loss) ? msg.loss : null,
        scale: Number.isInteger(msg.scale) && msg.scale >= 1 ? msg.scale : 1,
        adaptive: msg.adaptive === true,
      },
    }];
  }

  /** The host's monitors and the one shown; anything malformed is dropped. */
  screensMessage(msg) {
    if (!Array.isArray(msg.screens) || typeof msg.current !== 'string') return [];
    const screens = msg.screens
      .filter((s) => s && typeof s.id === 'string' && Number.isInteger(s.width) && Number.isInteger(s.height))
      .map((s) => ({ id: s.id, name: String(s.name || s.id), width: s.width, height: s.height, primary: s.primary === true }));
    return [{ type: 'screens', screens, current: msg.current }];
  }

  verifiedNow(now, safetyCode) {
    this.verified = true;
    return [{ type: 'verified', safetyCode }, ...this.inputOpen(now), ...this.handOver()];
  }

  /** Whether input may go out: the channel is open and the host proved itself. */
  mayInput() {
    return this.verified && this.open.has('input') && this.permission !== 'view' && !this.filesOnly;
  }

  /** Input goes out from now on, with a heartbeat every HEARTBEAT_MS. */
  inputOpen(now) {
    if (!this.mayInput()) return [];
    this.heartbeatAt = now + HEARTBEAT_MS;
    const held = this.heldInput.map((msg) => ({ type: 'input', msg }));
    this.heldInput = [];
    return held;
  }

  /** One input message from the page: out now, or held until verified. */
  localInput(msg) {
    if (this.permission === 'view') return [];
    if (this.mayInput()) return [{ type: 'input', msg }];
    if (this.heldInput.length < MAX_HELD_INPUT) this.heldInput.push(msg);
    return [];
  }

  channelOpen(now, label) {
    this.open.add(label);
    // A page that plays the sound itself asks for it on the `sound`
    // channel, once that and `control` are open.
    if ((label === 'sound' || label === 'control') && this.soundChannel
      && this.open.has('sound') && this.open.has('control')) {
      const ask = { type: 'control', msg: { type: 'sound_channel', enabled: true } };
      if (label === 'sound') return [ask];
      return [ask, ...this.channelOpened(now, label)];
    }
    return this.channelOpened(now, label);
  }

  /** The `files` and `clipboard` channels go to the page once verified. */
  handOver() {
    if (!this.verified) return [];
    const out = [];
    for (const label of ['files', 'clipboard']) {
      if (!this.open.has(label) || this.handedOver.has(label)) continue;
      this.handedOver.add(label);
      out.push({ type: `${label}_ready` });
    }
    return out;
  }

  channelOpened(now, label) {
    if (label === 'control' && !this.verified) this.verifyAt ??= now + VERIFY_TIMEOUT_MS;
    if (label === 'files' && this.filesOnly && !this.firstFrame) {
      this.firstFrame = true;
      return [{ type: 'status', text: null }, ...this.handOver()];
    }
    if (label === 'files' || label === 'clipboard') return this.handOver();
    // Input is captured from now on; it goes out once the host proved it
    // holds the device's key.
    if (label === 'input' && this.permission !== 'view' && !this.filesOnly) return [{ type: 'attach_input' }, ...this.inputOpen(now)];
    // Frames decoded in the page never reach the browser's decoder, which
    // would ask for keyframes all the time: the page asks itself.
    if (label === 'control' && this.render === 'webcodecs') {
      return [{ type: 'control', msg: { type: 'rtcp_keyframe_requests', enabled: false } }];
    }
    return [];
  }

  /**
   * The host closed the channels: the server's session_end may follow with
   * the reason. A host that went offline first (it stopped) has no server
   * to speak for it, so that end is at once.
   */
  channelClose(now, label) {
    this.open.delete(label);
    if (label === 'input') this.heartbeatAt = null;
    if (label !== 'control') return [];
    if (this.offline) return this.finish(endMessage('host_closed'), 'host_closed');
    this.closedAt ??= now + PEER_CLOSE_GRACE_MS;
    return [];
  }

  tick(now) {
    if (!this.verified && this.verifyAt !== null && now >= this.verifyAt) {
      return this.end('connection_failed', `${NOT_VERIFIED}it did not prove its identity within ${VERIFY_TIMEOUT_MS / 1000} s (no DTLS binding signature).`);
    }
    if (this.closedAt !== null && now >= this.closedAt) return this.finish(endMessage('host_closed'), 'host_closed');
    if (!this.firstFrame && this.firstFrameAt !== null && now >= this.firstFrameAt) {
      return this.end('connection_failed', this.filesOnly
        ? 'The remote PC did not open its files. The connection failed.'
        : 'No picture arrived from the remote PC. The connection failed.');
    }
    if (this.resumeAt !== null && now >= this.resumeAt) {
      this.resumeAt = null;
      if (this.online) return this.resume(this.resumeAttempt + 1);
    }
    if (this.heartbeatAt !== null && now >= this.heartbeatAt) {
      this.heartbeatAt = now + HEARTBEAT_MS;
      return [{ type: 'input', msg: { type: 'heartbeat' } }];
    }
    return [];
  }
}
