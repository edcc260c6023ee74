// The driver around the files core (files.js): the `files` data channel,
// the files the user picked, the hash worker and the downloads. It turns
// what happens into the core's events and carries out its actions; every
// decision is the core's.
//
// Files being sent are read a slice at a time (`file.slice(a, b)`), never
// whole. Files being fetched are gathered as Blob parts, a few MiB each
// (Chromium keeps large blobs on disk), and saved through an <a download>.

import { BUFFER_LOW, FilesCore } from './files.js';

/** Bytes of a download joined into one Blob before the next is started. */
const BLOB_BATCH = 4 * 1024 * 1024;
/** How long a saved file's object URL stays valid (the browser reads it by then). */
const URL_LIFETIME_MS = 60000;

export class FilesChannel {
  /**
   * `port` is the connection's {dc, listen}; callbacks: row(row),
   * listing({path, entries, truncated}), listFailed({path, message}),
   * notice(text).
   */
  constructor(port, callbacks) {
    this.dc = port.dc;
    this.cb = callbacks;
    this.core = new FilesCore();
    this.files = new Map();
    this.downloads = new Map();
    this.closed = false;
    this.worker = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module' });
    this.worker.addEventListener('message', (e) => this.hashed(e.data));
    this.worker.addEventListener('error', (e) => this.hashingBroke(e.message || 'the hash worker did not start'));
    this.dc.bufferedAmountLowThreshold = BUFFER_LOW;
    this.dc.addEventListener('bufferedamountlow', () => this.feed({ type: 'drain' }));
    this.dc.addEventListener('close', () => this.feed({ type: 'close' }));
    port.listen((data) => this.feed(typeof data === 'string' ? { type: 'text', data } : { type: 'binary', data }));
    if (this.dc.readyState === 'open') this.feed({ type: 'open' });
  }

  feed(e) {
    for (const a of this.core.handle(e, this.dc.bufferedAmount)) this.apply(a);
  }

  apply(a) {
    switch (a.type) {
      case 'send': this.transmit(JSON.stringify(a.msg)); break;
      case 'send_chunk': this.transmit(a.data); break;
      case 'read': this.read(a); break;
      case 'hash': this.worker.postMessage({ op: 'update', id: a.id, data: a.data }); break;
      case 'digest': this.worker.postMessage({ op: 'digest', id: a.id }); break;
      case 'store': this.store(a.id, a.data); break;
      case 'save': this.save(a.id, a.name); break;
      case 'discard': this.discard(a.id); break;
      case 'row': this.cb.row?.(a.row); break;
      case 'listing': this.cb.listing?.(a); break;
      case 'list_failed': this.cb.listFailed?.(a); break;
      case 'notice': this.cb.notice?.(a.message); break;
      default: console.warn('unknown files action', a.type);
    }
  }

  transmit(data) {
    try {
      this.dc.send(data);
    } catch (e) {
      // Closing: the channel's close event fails what is open.
      console.warn('the files channel refused a message', e);
    }
  }

  /** Send `files` (File objects) into `folder` (a shared folder), or the receive folder. */
  send(files, folder = null) {
    for (const file of files) {
      const actions = this.core.handle({
        type: 'put', name: file.name, size: file.size, modifiedMs: file.lastModified || null, folder,
      }, this.dc.bufferedAmount);
      // The first action is the new transfer's row, naming its id.
      this.files.set(actions[0].row.id, file);
      for (const a of actions) this.apply(a);
    }
  }

  /** Fetch `path` of a shared folder and save it. */
  get(path) {
    const actions = this.core.handle({ type: 'get', path }, this.dc.bufferedAmount);
    this.downloads.set(actions[0].row.id, { blobs: [], parts: [], partBytes: 0 });
    for (const a of actions) this.apply(a);
  }

  list(path) {
    this.feed({ type: 'list', path });
  }

  cancel(id) {
    this.feed({ type: 'cancel', id });
  }

  read({ id, offset, length }) {
    const file = this.files.get(id);
    if (!file) return;
    file.slice(offset, offset + length).arrayBuffer().then(
      (buffer) => this.feed({ type: 'read', id, offset, data: new Uint8Array(buffer) }),
      (e) => this.feed({ type: 'read_failed', id, message: e.message }),
    );
  }

  hashed({ id, sha256, error }) {
    if (error) this.feed({ type: 'read_failed', id, message: `hashing failed: ${error}` });
    else this.feed({ type: 'hashed', id, sha256 });
  }

  /** Without its worker nothing can be checked: what is open fails. */
  hashingBroke(message) {
    for (const id of [...this.files.keys(), ...this.downloads.keys()]) {
      this.feed({ type: 'read_failed', id, message: `hashing failed: ${message}` });
    }
  }

  store(id, data) {
    const d = this.downloads.get(id);
    if (!d) return;
    d.parts.push(data);
    d.partBytes += data.length;
    if (d.partBytes >= BLOB_BATCH) {
      d.blobs.push(new Blob(d.parts));
      d.parts = [];
      d.partBytes = 0;
    }
  }

  save(id, name) {
    const d = this.downloads.get(id);
    if (!d) return;
    const blob = new Blob([...d.blobs, ...d.parts], { type: 'application/octet-stream' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), URL_LIFETIME_MS);
  }

  discard(id) {
    this.files.delete(id);
    this.downloads.delete(id);
    this.worker.postMessage({ op: 'drop', id });
  }

  /** The session is over. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.feed({ type: 'close' });
    this.worker.terminate();
  }
}
