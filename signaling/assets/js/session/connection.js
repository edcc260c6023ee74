// One remote-desktop session from the browser: the driver around the
// SessionController (controller.js), which makes every decision. This file
// only turns the viewer WebSocket, the RTCPeerConnection, its data channels
// and one timer into the controller's events, and carries out its actions.
// See docs/protocol.md section 10 for the order of messages.

import { asDtlsServer } from './sdp.js';
import { SessionController } from './controller.js';
import { checkPin, pinKey, pinnedKey, safetyCode, verifyBinding } from './trust.js';

/** The server messages a session listens to. */
const SERVER_MESSAGES = ['session_created', 'error', 'session_resumed', 'session_accepted', 'consent', 'offer', 'ice', 'session_end'];

function iceServers(list) {
  return list.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
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
   * `live` is the viewer WebSocket (Live). Options and callbacks: render
   * ('video' or 'webcodecs'), encodedStreams, state(text),
   * created({permission, ...}), track(stream, receiver), attachInput(),
   * verified(safetyCode), keyChanged({deviceId, key, pinnedCode, newCode}),
   * screen (the monitor to show first, or null), screens(list, current),
   * audio(stream) (the PC's sound on its track), soundPacket(message) (on
   * the `sound` channel, when the page plays it itself), sound(available,
   * reason), filesOnly (a session for the device's files: no picture),
   * files(port) and clipboard(port) (the channel of that name, once the
   * host proved itself; see `port`),
   * ended(message, reason).
   */
  constructor(live, deviceId, callbacks) {
    this.live = live;
    this.deviceId = deviceId;
    this.cb = callbacks;
    this.pc = null;
    this.channels = new Map();
    // What the `files` and `clipboard` channels received before the page
    // took them (the host's clipboard may come at once): label → inbox.
    this.inboxes = new Map();
    this.off = [];
    this.queue = Promise.resolve();
  }

  start() {
    // A session link's request may have gone out before the app loaded.
    // (A session link is for the screen: a files-only session takes none.)
    const early = this.cb.filesOnly ? null : this.live.claimEarly(this.deviceId);
    const requestId = early?.requestId ?? this.live.requestId();
    this.core = new SessionController(this.deviceId, requestId, this.cb.render, this.cb.screen ?? null);
    // The page plays the sound itself, from the `sound` channel.
    this.core.soundChannel = Boolean(this.cb.soundPacket);
    this.core.filesOnly = Boolean(this.cb.filesOnly);
    const listen = (type, event) => this.off.push(this.live.on(type, (msg) => this.feed(event(msg))));
    for (const type of SERVER_MESSAGES) listen(type, (msg) => ({ type: 'server', msg }));
    listen('open', () => ({ type: 'ws_open' }));
    listen('close', () => ({ type: 'ws_close' }));
    this.feed({ type: 'start', early: Boolean(early), online: this.live.connected, secure: window.isSecureContext });
    // What arrived for it so far, in order, as if it arrived now.
    for (const m of early?.held ?? []) this.live.emit(m.type, m);
  }

  /** Hand one event to the controller and carry out what it says. */
  feed(event) {
    if (!this.core) return;
    for (const action of this.core.handle(performance.now(), event)) this.apply(action);
    clearTimeout(this.timer);
    const at = this.core.deadline();
    if (at !== null && !this.core.done) {
      this.timer = setTimeout(() => this.feed({ type: 'tick' }), Math.max(0, at - performance.now()));
    }
  }

  apply(a) {
    switch (a.type) {
      case 'send': this.live.send(a.msg); break;
      case 'control': this.sendOn('control', a.msg); break;
      case 'input': this.sendOn('input', a.msg); break;
      case 'status': this.cb.state?.(a.text); break;
      case 'created': this.cb.created?.(a.msg); break;
      case 'create_peer': this.createPeer(a.iceServers); break;
      case 'apply_offer': this.serially(() => this.applyOffer(a.sdp)); break;
      case 'add_ice': this.serially(() => this.addIce(a.candidate)); break;
      case 'attach_input': this.cb.attachInput?.(); break;
      case 'finish': this.finish(a.message, a.reason); break;
      case 'verify': this.verify(a.signature); break;
      case 'check_key': this.checkKey(a.key); break;
      case 'verified':
        if (this.pinOnVerify) pinKey(this.deviceId, this.deviceKey).catch((e) => console.error('pinning the key failed', e));
        this.cb.verified?.(a.safetyCode);
        break;
      case 'screens': this.cb.screens?.(a.screens, a.current); break;
      case 'sound': this.cb.sound?.(a.available, a.reason); break;
      case 'quality': this.cb.quality?.(a.quality); break;
      case 'files_ready': this.cb.files?.(this.port('files')); break;
      case 'clipboard_ready': this.cb.clipboard?.(this.port('clipboard')); break;
      case 'key_changed': this.cb.keyChanged?.({ deviceId: this.deviceId, key: this.deviceKey, pinnedCode: a.pinnedCode, newCode: a.newCode }); break;
      default: console.warn('unknown session action', a.type);
    }
  }

  /** Compare the device's key (from `session_created`) with the one pinned here. */
  async checkKey(key) {
    try {
      if (!key) throw new Error('the server gives no key for this device');
      this.deviceKey = key;
      const state = await checkPin(this.deviceId, key);
      this.pinOnVerify = state === 'new';
      const codes = state === 'changed'
        ? { pinnedCode: await safetyCode(await pinnedKey(this.deviceId)), newCode: await safetyCode(key) }
        : {};
      this.feed({ type: 'key_checked', state, ...codes });
    } catch (e) {
      this.feed({ type: 'key_checked', state: 'error', message: e.message });
    }
  }

  /** Check the host's binding signature against both SDPs and the key. */
  verify(signature) {
    verifyBinding({
      keyBase64: this.deviceKey,
      sessionId: this.core.sessionId,
      offerSdp: this.pc.remoteDescription.sdp,
      answerSdp: this.pc.localDescription.sdp,
      signature,
    }).then(
      (safetyCode) => this.feed({ type: 'verified', safetyCode }),
      (e) => this.feed({ type: 'verify_failed', message: e.message }),
    );
  }

  /** Offers and candidates are applied strictly in arrival order. */
  serially(task) {
    this.queue = this.queue.then(task).catch((e) => console.error('signaling step failed', e));
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
      this.feed({ type: 'local_ice', candidate });
    });
    pc.addEventListener('track', (e) => {
      // No extra buffering: play frames as soon as they are decoded.
      if ('playoutDelayHint' in e.receiver) e.receiver.playoutDelayHint = 0;
      if ('jitterBufferTarget' in e.receiver) e.receiver.jitterBufferTarget = 0;
      // The PC's sound plays on its own element; the picture's stays muted.
      if (e.track.kind === 'audio') return this.cb.audio?.(new MediaStream([e.track]));
      this.cb.track?.(e.streams[0] ?? new MediaStream([e.track]), e.receiver);
    });
    pc.addEventListener('datachannel', (e) => this.adopt(e.channel));
    pc.addEventListener('connectionstatechange', () => this.feed({ type: 'pc_state', state: pc.connectionState }));
  }

  /** A data channel from the host: report when it opens and closes. */
  adopt(dc) {
    this.channels.set(dc.label, dc);
    if (dc.label === 'sound') {
      dc.binaryType = 'arraybuffer';
      dc.addEventListener('message', (e) => this.cb.soundPacket?.(e.data));
    }
    if (dc.label === 'files' || dc.label === 'clipboard') {
      dc.binaryType = 'arraybuffer';
      const inbox = { held: [], to: null };
      dc.addEventListener('message', (e) => (inbox.to ? inbox.to(e.data) : inbox.held.push(e.data)));
      this.inboxes.set(dc.label, inbox);
    }
    dc.addEventListener('close', () => this.feed({ type: 'channel_close', label: dc.label }));
    if (dc.label === 'control') dc.addEventListener('message', (e) => this.controlMessage(e.data));
    if (dc.readyState === 'open') this.feed({ type: 'channel_open', label: dc.label });
    else dc.addEventListener('open', () => this.feed({ type: 'channel_open', label: dc.label }), { once: true });
  }

  /**
   * A channel for the page: `dc`, and `listen(fn)`, which hands `fn` what
   * arrived so far, then each message as it comes.
   */
  port(label) {
    const dc = this.channels.get(label);
    const inbox = this.inboxes.get(label);
    return {
      dc,
      listen(fn) {
        for (const data of inbox.held.splice(0)) fn(data);
        inbox.to = fn;
      },
    };
  }

  controlMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('ignoring a control message that is not JSON');
      return;
    }
    this.feed({ type: 'control_message', msg });
  }

  sendOn(label, msg) {
    const dc = this.channels.get(label);
    if (dc?.readyState === 'open') dc.send(JSON.stringify(msg));
  }

  async applyOffer(sdp) {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription({ type: 'answer', sdp: asDtlsServer(answer.sdp) });
      this.feed({ type: 'answer', sdp: this.pc.localDescription.sdp });
    } catch (e) {
      console.error('answering the offer failed', e);
      this.feed({ type: 'offer_failed' });
    }
  }

  async addIce(c) {
    if (!c.candidate || !this.pc) return; // end of candidates
    try {
      await this.pc.addIceCandidate(toInit(c));
    } catch (e) {
      console.warn('ignoring an ICE candidate the browser refused', e);
    }
  }

  /** One input message from the page; the controller says when it goes out. */
  sendInput(msg) {
    this.feed({ type: 'local_input', msg });
  }

  /** Show the remote PC's monitor `id` from now on, in this session. */
  selectScreen(id) {
    this.feed({ type: 'select_screen', id });
  }

  /** Ask the host for a full picture. */
  requestKeyframe() {
    this.feed({ type: 'request_keyframe' });
  }

  /** The device went offline. */
  deviceOffline() {
    this.feed({ type: 'device_offline' });
  }

  /** The first picture is on screen. */
  shown() {
    this.feed({ type: 'first_frame' });
  }

  /** End from this side: tell the host, then clean up. */
  end(reason = 'viewer_closed', message = undefined) {
    this.feed({ type: 'end', reason, message });
  }

  finish(message, reason) {
    clearTimeout(this.timer);
    for (const f of this.off) f();
    this.pc?.close();
    this.cb.ended?.(message, reason);
  }
}
