// A module worker hashing the session's file transfers (hashing.js), so a
// 1 GiB file does not hold the page's main thread for seconds.
//
// Messages in: {op: 'update', id, data} (a Uint8Array), {op: 'digest', id},
// {op: 'drop', id}. Out, for each digest: {id, sha256} or {id, error}.
// Messages are handled in order, so a digest covers every update before it.

import { Hashes } from './hashing.js';

const hashes = new Hashes();

self.addEventListener('message', (e) => {
  const { op, id, data } = e.data;
  try {
    if (op === 'update') hashes.update(id, data);
    else if (op === 'digest') self.postMessage({ id, sha256: hashes.digest(id) });
    else if (op === 'drop') hashes.drop(id);
  } catch (err) {
    hashes.drop(id);
    self.postMessage({ id, error: String(err?.message ?? err) });
  }
});
