// The `clipboard` data channel as a plain state machine: no DOM, no
// navigator.clipboard, no data channel. The driver (clipboard-sync.js)
// calls its methods with what happens and carries out the actions they
// return, in order. protocol/src/clipboard.rs is the contract.
//
// Each side offers its clipboard when it changes: {type: 'offer', mime,
// size}, then the content in binary messages of at most CLIP_CHUNK_BYTES.
// Nothing is offered back that came from the other side: the page keeps
// what it last sent, what it last received, and what the browser gave
// back after writing that (Chromium re-encodes images it puts on the
// clipboard, so the bytes read back differ from those written).
//
// Actions: send {msg} (JSON), send_data {data} (binary), write {mime,
// data} (put this on the browser's clipboard), notice {message} (shown
// once, quietly).

export const CLIP_CHUNK_BYTES = 32 * 1024;
/** The largest content sent or taken (the host's default `[clipboard] max_bytes`). */
export const MAX_CLIP_BYTES = 16 * 1024 * 1024;
export const MIMES = ['text/plain', 'image/png'];
export const PERMISSION_TEXT = 'Clipboard sharing needs clipboard permission';

/** A size for people, as the host writes it: `2.1 MB`, `512 B`. */
export function humanBytes(n) {
  const units = ['kB', 'MB', 'GB', 'TB'];
  if (n < 1000) return `${n} B`;
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Why content of `size` bytes is not shared, if it is over `max`. */
export function tooLarge(size, max = MAX_CLIP_BYTES) {
  if (size <= max) return null;
  return `The clipboard holds ${humanBytes(size)} and is not shared: the limit is ${humanBytes(max)}`;
}

function same(a, mime, data) {
  if (!a || a.mime !== mime || a.data.length !== data.length) return false;
  for (let i = 0; i < data.length; i++) if (a.data[i] !== data[i]) return false;
  return true;
}

export class ClipboardCore {
  /** `mayOffer`: whether this session sends the page's clipboard (not a view session). */
  constructor({ mayOffer = true, max = MAX_CLIP_BYTES } = {}) {
    this.mayOffer = mayOffer;
    this.max = max;
    this.sent = null;
    this.received = null;
    this.readBack = null;
    /** The offer whose data is arriving: {mime, size, got, parts, keep}. */
    this.incoming = null;
    this.shown = new Set();
  }

  /** A notice, unless the same one was shown already. */
  notice(message) {
    if (this.shown.has(message)) return [];
    this.shown.add(message);
    return [{ type: 'notice', message }];
  }

  /** A text message from the host. */
  message(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return [];
    }
    if (m?.type === 'notice' && typeof m.message === 'string') return this.notice(m.message);
    if (m?.type !== 'offer') return [];
    const size = Number.isSafeInteger(m.size) && m.size >= 0 ? m.size : null;
    if (size === null) {
      this.incoming = null;
      return [];
    }
    // Too large or of a kind we cannot write: its data is read and dropped.
    const keep = MIMES.includes(m.mime) && size <= this.max;
    this.incoming = { mime: m.mime, size, got: 0, parts: [], keep };
    const out = keep ? [] : this.notice(tooLarge(size, this.max) ?? `The remote PC's clipboard holds ${m.mime}, which is not shared`);
    return [...out, ...this.complete()];
  }

  /** A binary message from the host: part of the content offered. */
  data(bytes) {
    const c = this.incoming;
    if (!c) return [];
    const take = bytes.subarray(0, c.size - c.got);
    c.got += take.length;
    if (c.keep) c.parts.push(take.slice());
    return this.complete();
  }

  complete() {
    const c = this.incoming;
    if (!c || c.got < c.size) return [];
    this.incoming = null;
    if (!c.keep) return [];
    const data = new Uint8Array(c.size);
    let at = 0;
    for (const p of c.parts) {
      data.set(p, at);
      at += p.length;
    }
    // The host sent back what the page sent it: it is there already.
    if (same(this.sent, c.mime, data)) return [];
    this.received = { mime: c.mime, data };
    this.readBack = null;
    return [{ type: 'write', mime: c.mime, data }];
  }

  /**
   * What the browser's clipboard holds now (`size` known before its bytes
   * are read; `data` null when too large to read): offered to the host if
   * it changed since what was last sent or received.
   */
  local(mime, data, size = data?.length ?? 0) {
    if (!this.mayOffer || !MIMES.includes(mime)) return [];
    const over = tooLarge(size, this.max);
    if (over) return this.notice(over);
    if (!data) return [];
    if (same(this.sent, mime, data) || same(this.received, mime, data) || same(this.readBack, mime, data)) return [];
    this.sent = { mime, data };
    const out = [{ type: 'send', msg: { type: 'offer', mime, size: data.length } }];
    for (let at = 0; at < data.length; at += CLIP_CHUNK_BYTES) {
      out.push({ type: 'send_data', data: data.subarray(at, at + CLIP_CHUNK_BYTES) });
    }
    return out;
  }

  /** What the browser gave back after writing what the host sent: not new. */
  written(mime, data) {
    this.readBack = { mime, data };
  }

  /** The browser refused to read or write its clipboard. */
  refused() {
    return this.notice(PERMISSION_TEXT);
  }
}
