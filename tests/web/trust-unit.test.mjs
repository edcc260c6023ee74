// Verifying the remote PC without a browser: the safety code and binding
// payload match protocol/src/binding.rs, the signature check refuses other
// keys and swapped fingerprints, and the controller sends no input and
// makes no peer before the key and the binding check out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import {
  bindingPayload, normalizeFingerprint, safetyCode, sdpFingerprint, verifyBinding,
} from '../../signaling/assets/js/session/trust.js';
import { SessionController, VERIFY_TIMEOUT_MS } from '../../signaling/assets/js/session/controller.js';

const subtle = webcrypto.subtle;
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const OFFER = 'v=0\r\na=fingerprint:sha-256 aa:bb\r\n';
const ANSWER = 'v=0\r\na=fingerprint:sha-256 CC:DD\r\n';

async function device() {
  const pair = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const sign = async (sid, offer = OFFER) => b64(new Uint8Array(await subtle.sign({ name: 'Ed25519' }, pair.privateKey,
    bindingPayload(sid, sdpFingerprint(offer), sdpFingerprint(ANSWER)))));
  return { key: b64(raw), sign };
}

test('the safety code is the one the Rust side computes', async () => {
  assert.equal(await safetyCode(b64(new Uint8Array(32))), '8770 6170 9175');
});

test('fingerprints are normalised and the sha-256 one is taken', () => {
  assert.equal(normalizeFingerprint('SHA-256 ab:cd'), 'sha-256 AB:CD');
  assert.throws(() => normalizeFingerprint('sha-256 abc'));
  assert.equal(sdpFingerprint('a=fingerprint:sha-1 11:22\r\na=fingerprint:sha-256 ab:cd\r\n'), 'sha-256 AB:CD');
  assert.throws(() => sdpFingerprint('v=0\r\n'), /no sha-256/);
  assert.deepEqual(new TextDecoder().decode(bindingPayload('s1', 'sha-256 AA', 'sha-256 BB')),
    'meshdesk-dtls-binding-v1\ns1\nsha-256 AA\nsha-256 BB');
});

test("the device's signature verifies; another key's or a swapped fingerprint's does not", async () => {
  const pc = await device();
  const intruder = await device();
  const check = (signature) => verifyBinding({ keyBase64: pc.key, sessionId: 's1', offerSdp: OFFER, answerSdp: ANSWER, signature });
  assert.equal(await check(await pc.sign('s1')), await safetyCode(pc.key));
  await assert.rejects(check(await intruder.sign('s1')), /does not match/);
  await assert.rejects(check(await pc.sign('s2')), /does not match/);
  await assert.rejects(check(await pc.sign('s1', 'a=fingerprint:sha-256 ee:ff\r\n')), /does not match/);
});

const created = {
  type: 'session_created', request_id: 'r1', session_id: 's1', permission: 'control', ice_servers: [], device_public_key: 'KEY',
};
const offer = { type: 'offer', session_id: 's1', sdp: 'v=0' };

function started(keyEvent) {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, { type: 'start', early: false, online: true });
  const out = [...c.handle(0, { type: 'server', msg: created }), ...c.handle(0, { type: 'server', msg: offer })];
  return { c, out, after: keyEvent ? c.handle(0, keyEvent) : [] };
}

test('no peer and no offer applied before the key checked out', () => {
  const { out, after } = started({ type: 'key_checked', state: 'new' });
  assert.ok(!out.some((a) => a.type === 'create_peer' || a.type === 'apply_offer'), JSON.stringify(out));
  assert.deepEqual(out.find((a) => a.type === 'check_key'), { type: 'check_key', key: 'KEY' });
  assert.deepEqual(after.map((a) => a.type), ['create_peer', 'apply_offer']);
});

test('a changed key stops the session before any media, with the warning', () => {
  const { after } = started({ type: 'key_checked', state: 'changed', pinnedCode: '1111 1111 1111', newCode: '2222 2222 2222' });
  assert.deepEqual(after.map((a) => a.type), ['key_changed', 'send', 'finish']);
  assert.equal(after[1].msg.type, 'session_end');
  assert.match(after[2].message, /key of this remote PC has changed.*1111 1111 1111.*2222 2222 2222/);
  assert.equal(after[2].reason, 'key_changed');
});

test('input is captured at once but goes out only once the binding verified', () => {
  const { c } = started({ type: 'key_checked', state: 'match' });
  assert.deepEqual(c.handle(0, { type: 'channel_open', label: 'control' }), []);
  assert.deepEqual(c.handle(0, { type: 'channel_open', label: 'input' }), [{ type: 'attach_input' }]);
  const click = { type: 'pointer_button', button: 'left', down: true };
  assert.deepEqual(c.handle(0, { type: 'local_input', msg: click }), [], 'not verified yet: held');
  assert.deepEqual(c.handle(0, { type: 'control_message', msg: { type: 'binding', signature: 'S' } }),
    [{ type: 'verify', signature: 'S' }]);
  assert.deepEqual(c.handle(0, { type: 'verified', safetyCode: '1234 5678 9012' }),
    [{ type: 'verified', safetyCode: '1234 5678 9012' }, { type: 'input', msg: click }]);
});

test('a bad or missing signature ends the session and says why', () => {
  const bad = started({ type: 'key_checked', state: 'match' }).c;
  bad.handle(0, { type: 'channel_open', label: 'control' });
  const out = bad.handle(0, { type: 'verify_failed', message: 'the DTLS binding signature does not match' });
  assert.match(out.at(-1).message, /^Could not verify the remote PC: the DTLS binding/);
  const silent = started({ type: 'key_checked', state: 'match' }).c;
  silent.handle(0, { type: 'channel_open', label: 'control' });
  assert.equal(silent.deadline(), VERIFY_TIMEOUT_MS);
  const late = silent.handle(VERIFY_TIMEOUT_MS, { type: 'tick' });
  assert.match(late.at(-1).message, /Could not verify the remote PC: it did not prove its identity/);
});
