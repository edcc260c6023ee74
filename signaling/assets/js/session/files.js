// The `files` data channel's requests and transfers as a plain state
// machine: no DOM, no data channel, no File, no timers. The driver
// (files-channel.js) hands it what happens as events to `handle(event,
// buffered)`, `buffered` being the channel's bufferedAmount now, and
// carries out the actions it returns, in order. protocol/src/files.rs is
// the contract; docs/protocol.md describes it.
//
// Events: open (the channel is open and the host verified), close,
// list {path}, put {name, size, modifiedMs, folder}, get {path},
// cancel {id}, text {data} (a JSON message from the host), binary {data}
// (an ArrayBuffer: a chunk), read {id, offset, data} (bytes of a file
// being sent, as asked for), read_failed {id, message}, hashed {id,
// sha256}, drain (the channel's buffer went low: send more).
// Actions: send {msg} (JSON), send_chunk {data} (binary), read {id,
// offset, length}, hash {id, data}, digest {id}, store {id, data} (data of
// a file being fetched), save {id, name}, discard {id} (forget its file,
// hash and data), row {row}, listing {id, path, entries, truncated},
// list_failed {id, path, message}, notice {message}.
//
// Transfers run one at a time, in the order asked; listings go at once.
// A file being sent is read once, from its start: every byte is hashed,
// and the bytes from the host's resume offset on are sent. The host's
// window (WINDOW_BYTES beyond its last ack) and the channel's buffer
// (BUFFER_HIGH) both bound what is in flight, so neither side holds more
// than a few MiB of a file, whatever its size.

export const CHUNK_BYTES = 32 * 1024;
export const CHUNK_HEADER = 12;
export const WINDOW_BYTES = 4 * 1024 * 1024;
export const ACK_EVERY = 512 * 1024;
/** Stop sending while the channel holds this much unsent. */
export const BUFFER_HIGH = 1024 * 1024;
/** The channel's bufferedAmountLowThreshold: go on below it. */
export const BUFFER_LOW = 256 * 1024;
/** One read of a file being sent. */
export const READ_BYTES = 1024 * 1024;

export const CLOSED_TEXT = 'The connection to the remote PC closed.';
export const DAMAGED_TEXT = 'The file arrived damaged (its SHA-256 does not match); it was not saved.';

/** One binary message: id (u32) and offset (u64), big-endian, then data. */
export function encodeChunk(id, offset, data) {
  const out = new Uint8Array(CHUNK_HEADER + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, id);
  view.setBigUint64(4, BigInt(offset));
  out.set(data, CHUNK_HEADER);
  return out;
}

/** A chunk from the host, or null if the message is not one. */
export function decodeChunk(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < CHUNK_HEADER) return null;
  if (buffer.byteLength > CHUNK_HEADER + CHUNK_BYTES) return null;
  const view = new DataView(buffer);
  const offset = view.getBigUint64(4);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { id: view.getUint32(0), offset: Number(offset), data: new Uint8Array(buffer, CHUNK_HEADER) };
}

/** A path as the host names it: `Documents/reports` and `q3.pdf`. */
export function joinPath(folder, name) {
  return folder ? `${folder}/${name}` : name;
}

/** The steps of a path, each with the path up to it (for a breadcrumb). */
export function pathSteps(path) {
  const parts = path ? path.split('/').filter(Boolean) : [];
  return parts.map((name, i) => ({ name, path: parts.slice(0, i + 1).join('/') }));
}

const isSize = (n) => Number.isSafeInteger(n) && n >= 0;

export class FilesCore {
  constructor() {
    this.nextId = 1;
    this.ready = false;
    /** Transfers not finished, by id: the active one and those waiting. */
    this.transfers = new Map();
    this.waiting = [];
    this.active = null;
    /** Listings asked for and not answered: id → path. */
    this.lists = new Map();
    /** Listings asked for before the channel was ready. */
    this.heldLists = [];
  }

  handle(e, buffered = 0) {
    switch (e.type) {
      case 'open': return this.opened(buffered);
      case 'close': return this.closed();
      case 'list': return this.list(e.path ?? '');
      case 'put': return this.add({
        kind: 'put', name: e.name, size: e.size, modifiedMs: e.modifiedMs ?? null, folder: e.folder || null,
      }, buffered);
      case 'get': return this.add({ kind: 'get', path: e.path, name: e.path.split('/').pop(), size: e.size ?? null }, buffered);
      case 'cancel': return this.cancel(e.id, buffered);
      case 'text': return this.text(e.data, buffered);
      case 'binary': return this.chunk(e.data);
      case 'read': return this.readDone(e, buffered);
      case 'read_failed': return this.fail(this.transfers.get(e.id), `The file could not be read: ${e.message}`, buffered);
      case 'hashed': return this.hashed(e.id, e.sha256, buffered);
      case 'drain': return this.active?.state === 'sending' ? this.pump(this.active, buffered) : [];
      default: return [];
    }
  }

  opened(buffered) {
    this.ready = true;
    const out = this.heldLists.splice(0).flatMap((path) => this.list(path));
    return [...out, ...this.next(buffered)];
  }

  closed() {
    this.ready = false;
    const out = [];
    for (const t of [...this.transfers.values()]) out.push(...this.end(t, 'failed', CLOSED_TEXT));
    this.waiting = [];
    this.active = null;
    for (const [id, path] of this.lists) out.push({ type: 'list_failed', id, path, message: CLOSED_TEXT });
    this.lists.clear();
    return out;
  }

  list(path) {
    if (!this.ready) {
      this.heldLists.push(path);
      return [];
    }
    const id = this.nextId++;
    this.lists.set(id, path);
    return [{ type: 'send', msg: { type: 'list', id, path } }];
  }

  /** A new transfer: it waits for those before it. */
  add(fields, buffered) {
    const t = { id: this.nextId++, state: 'waiting', done: 0, ...fields };
    this.transfers.set(t.id, t);
    this.waiting.push(t);
    return [this.row(t), ...this.next(buffered)];
  }

  /** Start the next waiting transfer if none runs. */
  next(buffered) {
    if (!this.ready || this.active) return [];
    const t = this.waiting.shift();
    if (!t) return [];
    this.active = t;
    t.state = 'asked';
    if (t.kind === 'get') return [{ type: 'send', msg: { type: 'get', id: t.id, path: t.path, offset: 0 } }, this.row(t)];
    const msg = { type: 'put', id: t.id, name: t.name, size: t.size };
    if (t.folder) msg.folder = t.folder;
    if (t.modifiedMs !== null) msg.modified_ms = t.modifiedMs;
    return [{ type: 'send', msg }, this.row(t)];
  }

  cancel(id, buffered) {
    const t = this.transfers.get(id);
    if (!t) return [];
    const tell = t === this.active ? [{ type: 'send', msg: { type: 'cancel', id } }] : [];
    return [...tell, ...this.end(t, 'cancelled', 'Cancelled'), ...this.next(buffered)];
  }

  /** A transfer is over: forget it, say how it ended. */
  end(t, state, text) {
    t.state = state;
    t.text = text;
    this.transfers.delete(t.id);
    this.waiting = this.waiting.filter((w) => w !== t);
    if (this.active === t) this.active = null;
    return [{ type: 'discard', id: t.id }, this.row(t)];
  }

  fail(t, message, buffered) {
    if (!t) return [];
    return [...this.end(t, 'failed', message), ...this.next(buffered)];
  }

  row(t) {
    return {
      type: 'row',
      row: {
        id: t.id, kind: t.kind, name: t.name, storedName: t.storedName ?? null, size: t.size, done: t.done,
        state: t.state, text: t.text ?? null,
      },
    };
  }

  text(data, buffered) {
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return [];
    }
    if (m?.type === 'listing' || (m?.type === 'error' && this.lists.has(m.id))) return this.listed(m);
    if (m?.type === 'error' && !Number.isInteger(m.id)) {
      return [{ type: 'notice', message: String(m.message ?? 'The remote PC refused a request.') }];
    }
    const t = this.transfers.get(m?.id);
    // A reply for a transfer that ended here (cancelled, failed): late.
    if (!t) return [];
    // After get_done, an error for it answers an ack the host no longer
    // needed (it had sent everything): the file is being checked.
    if (m.type === 'error' && t.kind === 'get' && t.state === 'checking') return [];
    switch (m.type) {
      case 'error': return this.fail(t, String(m.message ?? 'The remote PC refused the transfer.'), buffered);
      case 'put_ready': return this.putReady(t, m.offset, buffered);
      case 'ack': return this.acked(t, m.offset, buffered);
      case 'put_done': return this.putDone(t, m.name, buffered);
      case 'get_ready': return this.getReady(t, m, buffered);
      case 'get_done': return this.getDone(t, m.sha256, buffered);
      default: return [];
    }
  }

  listed(m) {
    const path = this.lists.get(m.id);
    if (path === undefined) return [];
    this.lists.delete(m.id);
    if (m.type === 'error') return [{ type: 'list_failed', id: m.id, path, message: String(m.message ?? '') }];
    const entries = (Array.isArray(m.entries) ? m.entries : [])
      .filter((x) => x && typeof x.name === 'string' && (x.kind === 'folder' || x.kind === 'file'))
      .map((x) => ({ name: x.name, kind: x.kind, size: isSize(x.size) ? x.size : 0, modifiedMs: isSize(x.modified_ms) ? x.modified_ms : null }));
    return [{ type: 'listing', id: m.id, path, entries, truncated: m.truncated === true }];
  }

  // --- sending (put) ---

  putReady(t, offset, buffered) {
    if (t.kind !== 'put' || t.state !== 'asked') return [];
    if (!isSize(offset) || offset > t.size) return this.fail(t, `The remote PC asked for data from ${offset}, past the file's end.`, buffered);
    Object.assign(t, {
      state: 'sending', from: offset, sent: offset, acked: offset, done: offset, readAt: 0, reading: false, queue: [], queued: 0,
    });
    return [this.row(t), ...this.pump(t, buffered)];
  }

  readDone(e, buffered) {
    const t = this.transfers.get(e.id);
    if (!t || t.state !== 'sending' || !t.reading || e.offset !== t.readAt) return [];
    t.reading = false;
    const data = e.data;
    t.readAt += data.length;
    // Bytes before the resume offset are only hashed.
    for (let at = Math.max(e.offset, t.from); at < t.readAt; at += CHUNK_BYTES) {
      const end = Math.min(at + CHUNK_BYTES, t.readAt);
      t.queue.push({ offset: at, data: data.subarray(at - e.offset, end - e.offset) });
      t.queued += end - at;
    }
    return [{ type: 'hash', id: t.id, data }, ...this.pump(t, buffered)];
  }

  /** Send what the window and the buffer allow; read on; finish. */
  pump(t, buffered) {
    const out = [];
    let room = buffered;
    let sentAny = false;
    while (t.queue.length) {
      const c = t.queue[0];
      if (c.offset + c.data.length - t.acked > WINDOW_BYTES || room >= BUFFER_HIGH) break;
      t.queue.shift();
      t.queued -= c.data.length;
      out.push({ type: 'send_chunk', data: encodeChunk(t.id, c.offset, c.data) });
      room += CHUNK_HEADER + c.data.length;
      t.sent = c.offset + c.data.length;
      sentAny = true;
    }
    if (!t.reading && t.readAt < t.size && t.queued < READ_BYTES) {
      t.reading = true;
      out.push({ type: 'read', id: t.id, offset: t.readAt, length: Math.min(READ_BYTES, t.size - t.readAt) });
    }
    if (t.readAt === t.size && !t.reading && !t.queue.length && !t.digesting) {
      t.digesting = true;
      out.push({ type: 'digest', id: t.id });
    }
    if (sentAny) {
      t.done = t.sent;
      out.push(this.row(t));
    }
    return out;
  }

  acked(t, offset, buffered) {
    if (t.kind !== 'put' || t.state !== 'sending' || !isSize(offset)) return [];
    t.acked = Math.max(t.acked, Math.min(offset, t.sent));
    return this.pump(t, buffered);
  }

  putDone(t, name, buffered) {
    if (t.kind !== 'put' || t.state !== 'finishing') return [];
    t.storedName = typeof name === 'string' ? name : t.name;
    t.done = t.size;
    return [...this.end(t, 'done', 'Sent'), ...this.next(buffered)];
  }

  // --- fetching (get) ---

  getReady(t, m, buffered) {
    if (t.kind !== 'get' || t.state !== 'asked') return [];
    if (!isSize(m.size) || m.offset !== 0) return this.fail(t, 'The remote PC answered with a transfer this page did not ask for.', buffered);
    Object.assign(t, { state: 'receiving', size: m.size, received: 0, lastAck: 0, done: 0 });
    if (typeof m.name === 'string' && m.name) t.name = m.name;
    return [this.row(t)];
  }

  chunk(buffer) {
    const c = decodeChunk(buffer);
    const t = c && this.transfers.get(c.id);
    if (!t || t.kind !== 'get' || t.state !== 'receiving') return [];
    if (c.offset !== t.received || t.received + c.data.length > t.size) {
      const out = [{ type: 'send', msg: { type: 'cancel', id: t.id } }];
      return [...out, ...this.fail(t, `The remote PC sent data at ${c.offset}, expected ${t.received}.`, 0)];
    }
    t.received += c.data.length;
    t.done = t.received;
    const out = [{ type: 'store', id: t.id, data: c.data }, { type: 'hash', id: t.id, data: c.data }];
    // No ack once all of it is here: the host needs no more room.
    if (t.received - t.lastAck >= ACK_EVERY && t.received < t.size) {
      t.lastAck = t.received;
      out.push({ type: 'send', msg: { type: 'ack', id: t.id, offset: t.received } });
    }
    out.push(this.row(t));
    return out;
  }

  getDone(t, sha256, buffered) {
    if (t.kind !== 'get' || t.state !== 'receiving') return [];
    if (t.received !== t.size) return this.fail(t, `The file ended after ${t.received} of ${t.size} bytes.`, buffered);
    t.state = 'checking';
    t.expected = String(sha256 ?? '').toLowerCase();
    return [this.row(t), { type: 'digest', id: t.id }];
  }

  hashed(id, sha256, buffered) {
    const t = this.transfers.get(id);
    if (!t) return [];
    if (t.kind === 'put' && t.state === 'sending' && t.digesting) {
      t.state = 'finishing';
      return [{ type: 'send', msg: { type: 'put_end', id, sha256 } }, this.row(t)];
    }
    if (t.kind !== 'get' || t.state !== 'checking') return [];
    if (sha256 !== t.expected) return this.fail(t, DAMAGED_TEXT, buffered);
    // `save` before `discard`: the driver still holds the data then.
    return [{ type: 'save', id, name: t.name }, ...this.end(t, 'done', 'Downloaded'), ...this.next(buffered)];
  }
}
