// Verifying the remote PC (docs/protocol.md, "Verifying the remote PC"):
// the host signs, with its enrolled Ed25519 device key, the session id and
// both DTLS fingerprints; the page checks that signature with the device's
// key, pinned at first use in IndexedDB (database `meshdesk`, store
// `known_devices`), before it sends any input. The same rules as
// protocol/src/binding.rs, so both viewers show the same safety code.

const DB_NAME = 'meshdesk';
const STORE = 'known_devices';

function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** `ALGORITHM HEX:HEX` as lower-case algorithm, one space, upper-case hex. */
export function normalizeFingerprint(value) {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 2 || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(parts[1])) {
    throw new Error('the DTLS fingerprint is malformed');
  }
  return `${parts[0].toLowerCase()} ${parts[1].toUpperCase()}`;
}

/** The normalised sha-256 `a=fingerprint` of an SDP. */
export function sdpFingerprint(sdp) {
  const found = sdp.split(/\r?\n/)
    .filter((l) => l.startsWith('a=fingerprint:'))
    .map((l) => normalizeFingerprint(l.slice('a=fingerprint:'.length)))
    .find((fp) => fp.startsWith('sha-256 '));
  if (!found) throw new Error('the session description has no sha-256 DTLS fingerprint');
  return found;
}

/** The bytes the host signs. */
export function bindingPayload(sessionId, hostFp, viewerFp) {
  return new TextEncoder().encode(['meshdesk-dtls-binding-v1', sessionId, hostFp, viewerFp].join('\n'));
}

/** SHA-256 of the raw key, first 8 bytes big-endian, mod 10^12, as `1234 5678 9012`. */
export async function safetyCode(keyBase64) {
  const digest = new DataView(await crypto.subtle.digest('SHA-256', fromBase64(keyBase64)));
  const digits = String(digest.getBigUint64(0) % 1000000000000n).padStart(12, '0');
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}

/**
 * Check the host's binding signature; resolves to the safety code, or
 * rejects with why not.
 */
export async function verifyBinding({ keyBase64, sessionId, offerSdp, answerSdp, signature }) {
  const key = await crypto.subtle.importKey('raw', fromBase64(keyBase64), { name: 'Ed25519' }, false, ['verify']);
  const payload = bindingPayload(sessionId, sdpFingerprint(offerSdp), sdpFingerprint(answerSdp));
  let sig;
  try {
    sig = fromBase64(signature);
  } catch {
    throw new Error('the binding signature is not base64');
  }
  if (!(await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, payload))) {
    throw new Error("the DTLS binding signature does not match the device's key (someone may be intercepting the connection)");
  }
  return safetyCode(keyBase64);
}

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function inStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const req = fn(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

/** The key pinned for a device, or undefined. */
export const pinnedKey = (deviceId) => inStore('readonly', (s) => s.get(deviceId));

/** Pin a device's key (first use, or "Trust the new key"). */
export const pinKey = (deviceId, keyBase64) => inStore('readwrite', (s) => s.put(keyBase64, deviceId));

/** Compare the device's key with the pinned one: 'new', 'match' or 'changed'. */
export async function checkPin(deviceId, keyBase64) {
  const pinned = await pinnedKey(deviceId);
  if (pinned === undefined) return 'new';
  return pinned === keyBase64 ? 'match' : 'changed';
}
