// The web app's pure modules, without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, describe, duration, endMessage, requestError } from '../../signaling/assets/js/format.js';
import { fitRect, normalize } from '../../signaling/assets/js/session/geometry.js';
import { asDtlsServer } from '../../signaling/assets/js/session/sdp.js';
import { follows, frameNumber, nalTypes, stale } from '../../signaling/assets/js/session/h264.js';
import { keyMessage, wheelLines } from '../../signaling/assets/js/session/input.js';
import { statsText, summarize } from '../../signaling/assets/js/session/stats.js';
import { enrollCommand, installCommand } from '../../signaling/assets/js/views/dialogs.js';

const event = (kind, extra = {}) => ({
  id: 1, at: 0, kind, actor: null, device_id: 'dev_1', device_name: 'office-pc', target_user: null,
  permission: null, session_id: null, duration_ms: null, detail: null, ...extra,
});

test('feed events read as sentences with the real names', () => {
  assert.equal(describe(event('session_ended', { actor: 'bob', permission: 'control', duration_ms: 720000 })),
    'bob disconnected from office-pc (control), 12 min');
  assert.equal(describe(event('session_started', { actor: 'bob', permission: 'view' })),
    'bob connected to office-pc (view only)');
  assert.equal(describe(event('share_granted', { actor: 'alice', target_user: 'bob', permission: 'control' })),
    'alice shared office-pc with bob (control)');
  assert.equal(describe(event('device_online')), 'office-pc came online');
  assert.equal(describe(event('login_failed', { device_name: null, target_user: 'alice', detail: 'from 10.0.0.1' })),
    'Failed sign-in to alice from 10.0.0.1');
  assert.equal(describe(event('some_future_kind')), 'some future kind: office-pc');
});

test('durations and ages', () => {
  assert.equal(duration(4000), '4 s');
  assert.equal(duration(125 * 60000), '2 h 5 min');
  assert.equal(duration(120 * 60000), '2 h');
  assert.equal(ago(1000, 1000 + 10000), 'just now');
  assert.equal(ago(0, 5 * 60000), '5 min ago');
  assert.equal(ago(0, 3 * 3600000), '3 h ago');
});

test('every end reason and request error has a message', () => {
  for (const r of ['viewer_closed', 'host_closed', 'rejected', 'connection_failed', 'peer_gone', 'revoked',
    'device_removed', 'server_shutdown']) {
    assert.doesNotMatch(endMessage(r), /\(/, r);
  }
  assert.equal(endMessage('rejected', 'too many sessions on this host'),
    'The remote PC refused the session: too many sessions on this host.');
  assert.equal(endMessage('rejected', '  '), endMessage('rejected'));
  assert.equal(endMessage('revoked', 'ignored'), endMessage('revoked'));
  assert.equal(requestError('offline'), 'The device is offline.');
  assert.match(requestError('not_found'), /do not have access/);
});

test('the picture is letterboxed and pointer positions are normalized against it', () => {
  // 16:9 picture in a 4:3 box: bands above and below.
  const r = fitRect(800, 600, 1920, 1080);
  assert.deepEqual(fitRect(800, 600, 1920, 1080, { enlarge: true }), r, 'shrinking is the same either way');
  assert.deepEqual(r, { x: 0, y: 75, width: 800, height: 450 });
  assert.deepEqual(normalize(400, 300, r), { x: 0.5, y: 0.5 });
  assert.deepEqual(normalize(800, 75, r), { x: 1, y: 0 });
  assert.deepEqual(normalize(-5, 10, r), { x: 0, y: 0 }, 'band clamps to the edge');
  // Tall box: bands left and right.
  assert.deepEqual(fitRect(1000, 500, 1000, 1000), { x: 250, y: 0, width: 500, height: 500 });
  assert.equal(normalize(1, 1, fitRect(0, 0, 10, 10)), null, 'nothing displayed yet');
});

test('a smaller picture is shown at its own size unless enlarged to the window', () => {
  const own = fitRect(1920, 1200, 1280, 720);
  assert.deepEqual(own, { x: 320, y: 240, width: 1280, height: 720 });
  assert.deepEqual(normalize(320 + 640, 240 + 360, own), { x: 0.5, y: 0.5 });
  assert.deepEqual(normalize(10, 10, own), { x: 0, y: 0 }, 'the border clamps to the edge');
  assert.deepEqual(fitRect(1920, 1200, 1280, 720, { enlarge: true }), { x: 0, y: 60, width: 1920, height: 1080 });
});

test('keys carry the physical code and the text they typed', () => {
  assert.deepEqual(keyMessage({ code: 'KeyA', key: 'a' }, true), { type: 'key', code: 'KeyA', down: true, text: 'a' });
  assert.deepEqual(keyMessage({ code: 'KeyA', key: 'a' }, false), { type: 'key', code: 'KeyA', down: false });
  assert.deepEqual(keyMessage({ code: 'KeyW', key: 'w', ctrlKey: true }, true), { type: 'key', code: 'KeyW', down: true });
  assert.deepEqual(keyMessage({ code: 'Enter', key: 'Enter' }, true), { type: 'key', code: 'Enter', down: true });
  assert.deepEqual(keyMessage({ code: '', key: 'ß' }, true), { type: 'key', code: 'Unidentified', down: true, text: 'ß' });
  assert.equal(keyMessage({ code: '', key: 'Dead' }, true), null);
});

test('wheel deltas become lines within the protocol limits', () => {
  assert.deepEqual(wheelLines({ deltaMode: 0, deltaX: 0, deltaY: 120 }), { dx: 0, dy: 3 });
  assert.deepEqual(wheelLines({ deltaMode: 1, deltaX: -2, deltaY: 0 }), { dx: -2, dy: 0 });
  assert.deepEqual(wheelLines({ deltaMode: 0, deltaX: 0, deltaY: 1e9 }), { dx: 0, dy: 1000 });
});

test('stats say resolution, rate and whether the path is relayed', () => {
  const report = (bytes, at, remoteType) => new Map([
    ['v', { id: 'v', type: 'inbound-rtp', kind: 'video', timestamp: at, frameWidth: 1280, frameHeight: 720, framesPerSecond: 30, bytesReceived: bytes }],
    ['t', { id: 't', type: 'transport', selectedCandidatePairId: 'p' }],
    ['p', { id: 'p', type: 'candidate-pair', localCandidateId: 'l', remoteCandidateId: 'r', currentRoundTripTime: 0.004 }],
    ['l', { id: 'l', type: 'local-candidate', candidateType: 'host' }],
    ['r', { id: 'r', type: 'remote-candidate', candidateType: remoteType }],
  ]);
  const first = summarize(report(0, 1000, 'host'));
  const second = summarize(report(125000, 2000, 'host'), first);
  assert.equal(second.bitrate, 1e6);
  assert.equal(statsText(second), '1280×720 · 30 fps · 1.0 Mbit/s · RTT 4 ms · direct');
  assert.equal(summarize(report(0, 1000, 'relay')).path, 'relayed');
  const quality = { bitrateKbps: 1800, fps: 20, estimateKbps: 1850, loss: 0, scale: 1, adaptive: true };
  assert.equal(statsText(second, quality),
    '1280×720 · 30 fps · 1.0 Mbit/s · RTT 4 ms · direct · aims at 1.8 Mbit/s, 20 fps (path 1.9 Mbit/s)');
  assert.match(statsText(second, { ...quality, bitrateKbps: 4000, adaptive: false }), /aims at 4\.0 Mbit\/s, 20 fps \(fixed\)$/);
  assert.match(statsText(second, { ...quality, bitrateKbps: 300, scale: 2 }), /aims at 300 kbit\/s, 20 fps, 1\/2 size \(path /);
});

test('the enroll command is the one the host CLI takes', () => {
  assert.equal(enrollCommand('http://127.0.0.1:8080', 'ABCD-1234'),
    'meshdesk-host enroll --server http://127.0.0.1:8080 --code ABCD-1234');
  // A self-signed server: the host pins its fingerprint.
  assert.equal(enrollCommand('https://lan:8080', 'ABCD-1234', 'AB:CD'),
    'meshdesk-host enroll --server https://lan:8080 --server-fingerprint AB:CD --code ABCD-1234');
});

test('the install line pipes this server\'s /install.sh into sh with the code', () => {
  assert.equal(installCommand('https://desk.example.com', 'ABCD-1234'),
    'curl -fsSL https://desk.example.com/install.sh | sh -s -- --code ABCD-1234');
  // A self-signed server: curl checks the key's pin instead of a CA.
  assert.equal(installCommand('https://lan:8080', 'ABCD-1234', 'sha256//q+/w='),
    "curl -fsSL --insecure --pinnedpubkey 'sha256//q+/w=' https://lan:8080/install.sh | sh -s -- --code ABCD-1234");
});

test('frame numbers from the host are read from the SEI message', () => {
  // SPS, PPS, the SEI the host inserts (see peer/src/h264.rs), an IDR slice.
  const sei = [6, 5, 24, ...new TextEncoder().encode('meshdesk-frameno'), ...new TextEncoder().encode('00abcdef'), 0x80];
  const au = new Uint8Array([0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, ...sei, 0, 0, 0, 1, 0x65, 3, 4]);
  assert.deepEqual(nalTypes(au), [7, 8, 6, 5]);
  assert.equal(frameNumber(au), 0xabcdef);
  assert.equal(frameNumber(new Uint8Array([0, 0, 0, 1, 0x41, 9])), null);
  assert.ok(follows(7, 8));
  assert.ok(follows(0xffffffff, 0), 'wraps');
  assert.ok(!follows(7, 9), 'a gap');
  assert.ok(stale(8, 7) && stale(8, 8) && !stale(8, 9));
});

test('the answer makes the browser the DTLS server and changes nothing else', () => {
  const answer = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:active\r\na=mid:0\r\n'
    + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:active\r\na=x-note:setup:active\r\n';
  assert.equal(asDtlsServer(answer), answer.replace(/\na=setup:active/g, '\na=setup:passive'));
  assert.equal(asDtlsServer('a=setup:passive\r\n'), 'a=setup:passive\r\n', 'a re-answer keeps its role');
  assert.equal(asDtlsServer('a=setup:active\n'), 'a=setup:passive\n', 'bare newlines too');
});
