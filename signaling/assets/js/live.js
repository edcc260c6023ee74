// The viewer WebSocket: presence, the live feed, and session signaling.
// Reconnects with jittered backoff; listeners are told when it (re)opens so
// they can refresh what they may have missed.

/** How long a session requested by boot.js waits for its view. */
const EARLY_CLAIM_MS = 10000;

export class Live {
  constructor() {
    this.listeners = new Map();
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.nextRequest = 1;
    /** The server has said welcome on the current connection. */
    this.welcomed = false;
    /**
     * A session requested by boot.js before the app loaded, until its view
     * claims it: {deviceId, requestId, sessionId, held, pendingRequest}.
     * Its messages are held rather than emitted.
     */
    this.early = null;
  }

  /** `type` is a server message type, or 'open' / 'close'. */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, msg) {
    for (const fn of this.listeners.get(type) ?? []) {
      try {
        fn(msg);
      } catch (e) {
        console.error(`listener for ${type} failed`, e);
      }
    }
  }

  start() {
    this.stopped = false;
    const early = window.meshdeskEarly;
    delete window.meshdeskEarly;
    if (early && early.ws.readyState <= WebSocket.OPEN) {
      this.adopt(early);
      return;
    }
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws/viewer`;
    this.attach(new WebSocket(url));
  }

  /** Take over boot.js's connection and what it has received so far. */
  adopt(early) {
    early.ws.removeEventListener('message', early.onMessage);
    this.early = {
      deviceId: early.deviceId,
      screen: early.screen,
      requestId: early.requestId,
      sessionId: null,
      held: [],
      pendingRequest: !early.requested,
    };
    this.attach(early.ws);
    for (const data of early.messages) this.receive(data);
    // A session link whose view never opened (the app went elsewhere).
    this.earlyTimer = setTimeout(() => this.dropEarly(), EARLY_CLAIM_MS);
  }

  /** The early session for `deviceId`, if there is one: its view takes it. */
  claimEarly(deviceId) {
    const early = this.early;
    if (!early || early.deviceId !== deviceId) return null;
    this.early = null;
    clearTimeout(this.earlyTimer);
    return early;
  }

  /** Nobody claimed the early session: end it, now or once it exists. */
  dropEarly() {
    const early = this.early;
    this.early = null;
    if (!early) return;
    if (early.sessionId) this.endUnwanted(early.sessionId);
    else this.unwantedRequest = early.requestId;
  }

  endUnwanted(sessionId) {
    this.send({ type: 'session_end', session_id: sessionId, reason: 'viewer_closed' });
  }

  /** Whether `msg` belongs to the unclaimed early session (and is held). */
  holdForEarly(msg) {
    const early = this.early;
    if (!early) return false;
    if (msg.request_id === early.requestId) {
      if (msg.type === 'session_created') early.sessionId = msg.session_id;
      early.held.push(msg);
      return true;
    }
    if (early.sessionId !== null && msg.session_id === early.sessionId) {
      early.held.push(msg);
      return true;
    }
    return false;
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('ignoring a malformed message from the server');
      return;
    }
    if (this.holdForEarly(msg)) return;
    if (msg.type === 'session_created' && msg.request_id === this.unwantedRequest) {
      this.endUnwanted(msg.session_id);
      return;
    }
    if (msg.type === 'welcome') {
      this.attempt = 0;
      this.welcomed = true;
      if (this.early?.pendingRequest) {
        this.early.pendingRequest = false;
        const request = { type: 'session_request', device_id: this.early.deviceId, request_id: this.early.requestId };
        if (this.early.screen) request.screen = this.early.screen;
        this.send(request);
      }
      this.emit('open', msg);
    }
    this.emit(msg.type, msg);
  }

  attach(ws) {
    this.ws = ws;
    ws.addEventListener('message', (e) => this.receive(e.data));
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
      this.early = null;
      this.emit('close', {});
      if (this.stopped) return;
      const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      this.timer = setTimeout(() => this.start(), delay);
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    ws?.close();
  }

  get connected() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Send a message; false when not connected. */
  send(msg) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  requestId() {
    return `r${this.nextRequest++}`;
  }
}
