// The driver around the clipboard core (clipboard.js): the `clipboard`
// data channel and the browser's async Clipboard API. What the host
// offers is written to the clipboard while the page has focus (or as soon
// as it gets it back); the page's clipboard is read when the session
// gains focus and on paste, and offered if it changed. A refused
// permission is a quiet notice; the session goes on.

import { BUFFER_HIGH, BUFFER_LOW } from './files.js';
import { ClipboardCore, MAX_CLIP_BYTES } from './clipboard.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a clipboard item holds that can be shared: {mime, blob}, or null. */
async function shareable(types, getType) {
  for (const mime of ['image/png', 'text/plain']) {
    if (types.includes(mime)) return { mime, blob: await getType(mime) };
  }
  return null;
}

export class ClipboardSync {
  /**
   * `port` is the connection's {dc, listen}; `mayOffer`: whether this
   * session sends the page's clipboard (not in a view session);
   * `focusTarget`: the remote screen, whose focus also counts;
   * `notice(text)` shows a notice quietly.
   */
  constructor(port, { mayOffer, focusTarget, notice }) {
    this.dc = port.dc;
    this.core = new ClipboardCore({ mayOffer });
    this.mayOffer = mayOffer;
    this.notice = notice;
    this.pending = null;
    this.outbox = [];
    this.chain = Promise.resolve();
    this.off = [];
    const on = (target, type, fn) => {
      target.addEventListener(type, fn);
      this.off.push(() => target.removeEventListener(type, fn));
    };
    const focused = () => this.serially(() => this.focused());
    on(window, 'focus', focused);
    on(focusTarget, 'focus', focused);
    on(document, 'visibilitychange', () => document.visibilityState === 'visible' && focused());
    on(document, 'paste', (e) => this.pasted(e));
    this.dc.bufferedAmountLowThreshold = BUFFER_LOW;
    this.dc.addEventListener('bufferedamountlow', () => this.flush());
    port.listen((data) => this.apply(typeof data === 'string' ? this.core.message(data) : this.core.data(new Uint8Array(data))));
    if (document.hasFocus()) focused();
  }

  serially(task) {
    this.chain = this.chain.then(task).catch((e) => console.warn('clipboard sharing failed', e));
  }

  apply(actions) {
    for (const a of actions) {
      if (a.type === 'send') this.outbox.push(JSON.stringify(a.msg));
      if (a.type === 'send_data') this.outbox.push(a.data);
      if (a.type === 'notice') this.notice(a.message);
      if (a.type === 'write') {
        this.pending = a;
        if (document.hasFocus()) this.serially(() => this.writePending());
      }
    }
    this.flush();
  }

  /** Send what is queued while the channel's buffer has room. */
  flush() {
    while (this.outbox.length && this.dc.readyState === 'open' && this.dc.bufferedAmount < BUFFER_HIGH) {
      this.dc.send(this.outbox.shift());
    }
  }

  async focused() {
    await this.writePending();
    await this.read();
  }

  /** The host's latest content onto the browser's clipboard. */
  async writePending() {
    const w = this.pending;
    if (!w || !document.hasFocus()) return;
    try {
      if (w.mime === 'text/plain') await navigator.clipboard.writeText(decoder.decode(w.data));
      else await navigator.clipboard.write([new ClipboardItem({ [w.mime]: new Blob([w.data], { type: w.mime }) })]);
    } catch (e) {
      // Focus lost meanwhile: written when it comes back.
      if (!document.hasFocus()) return;
      this.refused(e);
      this.pending = null;
      return;
    }
    if (this.pending === w) this.pending = null;
    // What the browser made of it is not the user's to send back.
    const back = await this.readClipboard().catch(() => null);
    if (back?.mime === w.mime && back.data) this.core.written(back.mime, back.data);
  }

  /** The page's clipboard, offered if it changed. */
  async read() {
    if (!this.mayOffer || !document.hasFocus()) return;
    let found;
    try {
      found = await this.readClipboard();
    } catch (e) {
      if (document.hasFocus()) this.refused(e);
      return;
    }
    if (found) this.apply(this.core.local(found.mime, found.data, found.size));
  }

  /** {mime, data, size} of the clipboard (data null when too large), or null. */
  async readClipboard() {
    for (const item of await navigator.clipboard.read()) {
      const got = await shareable(item.types, (t) => item.getType(t));
      if (got) return this.bytesOf(got);
    }
    return null;
  }

  async bytesOf({ mime, blob }) {
    if (blob.size > MAX_CLIP_BYTES) return { mime, data: null, size: blob.size };
    return { mime, data: new Uint8Array(await blob.arrayBuffer()), size: blob.size };
  }

  /** A paste into the page: its content needs no permission to read. */
  pasted(e) {
    if (!this.mayOffer || !e.clipboardData) return;
    const data = e.clipboardData;
    const file = [...data.files].find((f) => f.type === 'image/png');
    const text = data.getData('text/plain');
    this.serially(async () => {
      const found = file
        ? await this.bytesOf({ mime: 'image/png', blob: file })
        : text && { mime: 'text/plain', data: encoder.encode(text), size: encoder.encode(text).length };
      if (found) this.apply(this.core.local(found.mime, found.data, found.size));
    });
  }

  /** A refused permission is said once; anything else only logged. */
  refused(e) {
    if (e?.name !== 'NotAllowedError') {
      console.warn('the clipboard could not be used', e);
      return;
    }
    console.info('clipboard access refused', e);
    this.apply(this.core.refused());
  }

  close() {
    for (const f of this.off) f();
    this.off = [];
    this.outbox = [];
  }
}
