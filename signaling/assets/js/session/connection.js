// One remote-desktop session from the browser: asks the server for a
// session on the viewer WebSocket, answers the host's offer, trickles ICE
// both ways, and exposes the video stream and the input/control channels.
// See docs/protocol.md section 10 for the order of messages.

import { asDtlsServer } from './sdp.js';
import { endMessage, requestError } from '../format.js';

const FIRST_FRAME_TIMEOUT_MS = 20000;
// While the server still holds the session for an old, dead connection of
// ours, it refuses a resume with `forbidden` and checks that connection;
// ask again this often, for as long as it keeps the session
// (`resume_grace_secs` in `session_created`; docs/protocol.md section 10.4).
const RESUME_RETRY_MS = 1000;
const DEFAULT_RESUME_GRACE_SECS = 30;
// The host closes the data channels as soon as a session ends. When the
// server ended it (a revoke, a removed device), that close can reach the
// page before the server's session_end, which says why (10 to 20 ms before
// it on a loaded machine): wait this long for it before concluding that
// the host closed the session itself.
const PEER_CLOSE_GRACE_MS = 1000;

function iceServers(list) {
  return (list ?? []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
}

function toInit(c) {
  return {
    candidate: c.candidate,
    sdpMid: c.sdp_mid ?? null,
    sdpMLineIndex: c.sdp_mline_index ?? null,
    usernameFragment: c.username_fragment ?? null,
  };
}

function fromInit(c) {
  const out = { candidate: c.candidate };
  if (c.sdpMid !== null && c.sdpMid !== undefined) out.sdp_mid = c.sdpMid;
  if (c.sdpMLineIndex !== null && c.sdpMLineIndex !== undefined) out.sdp_mline_index = c.sdpMLineIndex;
  if (c.usernameFragment) out.username_fragment = c.usernameFragment;
  return out;
}

export class Connection {
  /**
   * `live` is the viewer WebSocket (Live). Callbacks: state(text),
   * created({permission}), track(stream, receiver), channel(label, dc),
   * ended(message, reason).
   */
  constructor(live, deviceId, callbacks) {
    this.live = live;
    this.deviceId = deviceId;
    this.cb = callbacks;
    this.sessionId = null;
    this.pc = null;
    this.pendingIce = [];
    this.done = false;
    this.off = [];
  }

  start() {
    // A session link's request may have gone out before the app loaded.
    const early = this.live.claimEarly(this.deviceId);
    const requestId = early?.requestId ?? this.live.requestId();
    const listen = (type, fn) => this.off.push(this.live.on(type, fn));
    listen('session_created', (m) => {
      if (m.request_id !== requestId) return;
      this.sessionId = m.session_id;
      // Proves on a resume that this page asked for the session.
      this.resumeSecret = m.resume_secret ?? null;
      const grace = m.resume_grace_secs ?? DEFAULT_RESUME_GRACE_SECS;
      this.resumeAttempts = Math.ceil((grace * 1000) / RESUME_RETRY_MS);
      this.cb.created?.(m);
      this.cb.state?.('Waiting for the remote PC to accept…');
      this.createPeer(m.ice_servers);
    });
    listen('error', (m) => {
      if (m.request_id === requestId) this.finish(requestError(m.code, m.message), 'error');
      else if (this.mine(m) && this.resuming) this.resumeRefused(m);
      else if (this.mine(m)) console.warn(`server error for this session: ${m.code}: ${m.message}`);
    });
    // The WebSocket came back after a drop (a network change): take the
    // running session back. Media kept flowing peer to peer meanwhile.
    listen('open', () => this.connected && !this.done && this.resume(0));
    listen('session_resumed', (m) => {
      if (!this.mine(m)) return;
      this.resuming = false;
      console.info('session resumed on the new connection');
    });
    listen('session_accepted', (m) => this.mine(m) && this.cb.state?.('Connecting…'));
    // Offers (the first, and ICE restarts after a network change) and
    // candidates are applied strictly in arrival order: a candidate for a
    // restart must not be added before the offer that announced it.
    listen('offer', (m) => this.mine(m) && this.serially(() => this.onOffer(m.sdp)));
    listen('ice', (m) => this.mine(m) && this.serially(() => this.onIce(m.candidate)));
    listen('session_end', (m) => this.mine(m) && this.finish(endMessage(m.reason, m.detail), m.reason));
    listen('close', () => {
      // Media is peer to peer: a dropped signaling socket does not end a
      // running session, but one still being set up cannot finish.
      if (!this.connected) this.finish('Lost the connection to the server.', 'peer_gone');
    });
    this.cb.state?.('Requesting a session…');
    if (early) {
      // What arrived for it so far, in order, as if it arrived now.
      for (const m of early.held) this.live.emit(m.type, m);
    } else if (!this.live.send({ type: 'session_request', device_id: this.deviceId, request_id: requestId })) {
      this.finish('Not connected to the server. Try again in a moment.', 'error');
      return;
    }
    this.timer = setTimeout(() => {
      if (!this.firstFrame) this.end('connection_failed', 'No picture arrived from the remote PC. The connection failed.');
    }, FIRST_FRAME_TIMEOUT_MS);
  }

  serially(task) {
    this.queue = (this.queue ?? Promise.resolve()).then(task).catch((e) => console.error('signaling step failed', e));
  }

  mine(m) {
    return this.sessionId !== null && m.session_id === this.sessionId && !this.done;
  }

  createPeer(servers) {
    const config = { iceServers: iceServers(servers), bundlePolicy: 'max-bundle' };
    // `?ice=relay`: only relayed paths (hides this machine's addresses from
    // the remote PC; also how the relay is tested).
    if (new URLSearchParams(location.search).get('ice') === 'relay') config.iceTransportPolicy = 'relay';
    // Needed for receiver.createEncodedStreams() (WebCodecs rendering).
    if (this.cb.encodedStreams) config.encodedInsertableStreams = true;
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    pc.addEventListener('icecandidate', (e) => {
      const candidate = e.candidate ? fromInit(e.candidate.toJSON()) : { candidate: '' };
      this.live.send({ type: 'ice', session_id: this.sessionId, candidate });
    });
    pc.addEventListener('track', (e) => {
      // No extra buffering: play frames as soon as they are decoded.
      if ('playoutDelayHint' in e.receiver) e.receiver.playoutDelayHint = 0;
      if ('jitterBufferTarget' in e.receiver) e.receiver.jitterBufferTarget = 0;
      this.cb.track?.(e.streams[0] ?? new MediaStream([e.track]), e.receiver);
    });
    pc.addEventListener('datachannel', (e) => {
      const dc = e.channel;
      if (dc.label === 'control') {
        dc.addEventListener('close', () => this.peerClosed());
      }
      this.cb.channel?.(dc.label, dc);
    });
    pc.addEventListener('connectionstatechange', () => {
      const s = pc.connectionState;
      if (s === 'connected') this.connected = true;
      if (s === 'failed') this.end('connection_failed', 'The connection to the remote PC failed.');
      if (s === 'disconnected' && this.offline) this.end('peer_gone', 'The remote PC went offline.');
      // The host restarts ICE and sends a new offer; the picture resumes.
      else if (s === 'disconnected') this.cb.state?.('Connection interrupted; reconnecting…');
      if (s === 'closed') this.finish(endMessage('host_closed'), 'host_closed');
      if (s === 'connected' && this.firstFrame) this.cb.state?.(null);
    });
  }

  async onOffer(sdp) {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      for (const c of this.pendingIce.splice(0)) await this.addIce(c);
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription({ type: 'answer', sdp: asDtlsServer(answer.sdp) });
      this.live.send({ type: 'answer', session_id: this.sessionId, sdp: this.pc.localDescription.sdp });
    } catch (e) {
      console.error('answering the offer failed', e);
      this.end('connection_failed', 'The remote PC sent a session description this browser cannot use.');
    }
  }

  async onIce(c) {
    if (!this.pc?.remoteDescription) {
      this.pendingIce.push(c);
      return;
    }
    await this.addIce(c);
  }

  async addIce(c) {
    if (!c.candidate) return; // end of candidates
    try {
      await this.pc.addIceCandidate(toInit(c));
    } catch (e) {
      console.warn('ignoring an ICE candidate the browser refused', e);
    }
  }

  resume(attempt) {
    if (!this.resumeAttempts) {
      this.finish('Lost the connection to the server, which keeps no session over a lost connection.', 'peer_gone');
      return;
    }
    this.resuming = true;
    this.resumeAttempt = attempt;
    const resume = { type: 'session_resume', session_id: this.sessionId };
    if (this.resumeSecret) resume.resume_secret = this.resumeSecret;
    this.live.send(resume);
  }

  resumeRefused(m) {
    if (m.code === 'forbidden' && this.resumeAttempt + 1 < this.resumeAttempts) {
      clearTimeout(this.resumeTimer);
      this.resumeTimer = setTimeout(() => this.live.connected && !this.done && this.resume(this.resumeAttempt + 1), RESUME_RETRY_MS);
      return;
    }
    this.resuming = false;
    this.finish('Lost the connection to the server and the session could not be resumed.', 'peer_gone');
  }

  /** The device went offline: a session that is not flowing is over. */
  deviceOffline() {
    this.offline = true;
    if (!this.connected || this.pc?.connectionState !== 'connected') {
      this.end('peer_gone', 'The remote PC went offline.');
    }
  }

  /**
   * The host closed the channels: the server's session_end may follow with
   * the reason. A host that went offline first (it stopped) has no server
   * to speak for it, so that end is at once.
   */
  peerClosed() {
    if (this.done || this.closeTimer) return;
    const closed = () => this.finish(endMessage('host_closed'), 'host_closed');
    if (this.offline) closed();
    else this.closeTimer = setTimeout(closed, PEER_CLOSE_GRACE_MS);
  }

  /** The first picture is on screen. */
  shown() {
    this.firstFrame = true;
    clearTimeout(this.timer);
    this.cb.state?.(null);
  }

  /** End from this side: tell the host, then clean up. */
  end(reason = 'viewer_closed', message = endMessage(reason)) {
    if (this.done) return;
    if (this.sessionId) this.live.send({ type: 'session_end', session_id: this.sessionId, reason });
    this.finish(message, reason);
  }

  finish(message, reason) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    clearTimeout(this.resumeTimer);
    clearTimeout(this.closeTimer);
    for (const f of this.off) f();
    this.pc?.close();
    this.cb.ended?.(message, reason);
  }
}
