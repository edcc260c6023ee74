// A man in the middle between the browser and the server, for the tests of
// "Verifying the remote PC" (not a mode of the product); the same as
// tests/src/mitm.rs. A TCP proxy that rewrites what the server sends, as a
// malicious server would: 'fingerprint' changes every hex digit of the
// sha-256 DTLS fingerprint in the host's SDP offers, {key} replaces every
// `public_key` in the device list and the `device_public_key` of
// `session_created`. Rewrites keep lengths, so HTTP bodies
// and WebSocket frames (unmasked, uncompressed from the server) stay valid.

import { connect, createServer } from 'node:net';

const FINGERPRINT = Buffer.from('a=fingerprint:sha-256 ');
// `public_key` of the device list and `device_public_key` of session_created.
const KEY_FIELD = Buffer.from('public_key":"');

const next = (c) => {
  if (c === 0x39) return 0x41; // 9 -> A
  if (c === 0x46 || c === 0x66) return 0x30; // F, f -> 0
  return c + 1;
};
const isHex = (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Rewrite `buf` in place as `how` says; returns how many values changed. */
export function rewrite(buf, how) {
  if (how === 'honest') return 0;
  const marker = how === 'fingerprint' ? FINGERPRINT : KEY_FIELD;
  let count = 0;
  for (let at = buf.indexOf(marker); at !== -1; at = buf.indexOf(marker, at + 1)) {
    const start = at + marker.length;
    if (how === 'fingerprint') {
      for (let i = start; i < buf.length && (isHex(buf[i]) || buf[i] === 0x3a); i += 1) {
        if (buf[i] !== 0x3a) buf[i] = next(buf[i]);
      }
    } else if (buf[start + how.key.length] === 0x22) {
      buf.write(how.key, start, 'latin1');
    }
    count += 1;
  }
  return count;
}

/** Start it in front of `server`: `url`, `set(how)`, `rewrites()`, `close()`. */
export async function startMitm(server) {
  const target = new URL(server.url);
  const open = new Set();
  let how = 'honest';
  let rewrites = 0;
  const proxy = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = [client, upstream];
    open.add(pair);
    const close = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      rewrites += rewrite(chunk, how);
      client.write(chunk);
    });
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    set(next) { how = next; },
    rewrites: () => rewrites,
    close: () => new Promise((r) => {
      for (const [a, b] of open) {
        a.destroy();
        b.destroy();
      }
      proxy.close(r);
    }),
  };
}
