// SHA-256 of files being sent or fetched, fed piece by piece: one
// incremental hash per transfer, from the vendored @noble/hashes
// (WebCrypto has no incremental digest, and a file may be far larger than
// memory). Runs in the hash worker (hash-worker.js), off the page's main
// thread; not part of the app's bundle.

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { bytesToHex } from '../vendor/noble-hashes/utils.js';

export class Hashes {
  constructor() {
    this.byId = new Map();
  }

  /** Hash `data` (a Uint8Array) after what transfer `id` had so far. */
  update(id, data) {
    let h = this.byId.get(id);
    if (!h) {
      h = sha256.create();
      this.byId.set(id, h);
    }
    h.update(data);
  }

  /** The lowercase hex SHA-256 of everything transfer `id` was fed. */
  digest(id) {
    const h = this.byId.get(id) ?? sha256.create();
    this.byId.delete(id);
    return bytesToHex(h.digest());
  }

  drop(id) {
    this.byId.delete(id);
  }
}
