// The viewer WebSocket: presence, the live feed, and session signaling.
// Reconnects with jittered backoff; listeners are told when it (re)opens so
// they can refresh what they may have missed.

export class Live {
  constructor() {
    this.listeners = new Map();
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.nextRequest = 1;
    /** The server has said welcome on the current connection. */
    this.welcomed = false;
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
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws/viewer`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener('message', (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        console.warn('ignoring a malformed message from the server');
        return;
      }
      if (msg.type === 'welcome') {
        this.attempt = 0;
        this.welcomed = true;
        this.emit('open', msg);
      }
      this.emit(msg.type, msg);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
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
