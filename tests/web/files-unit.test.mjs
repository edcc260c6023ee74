// The page's `files` channel core (signaling/assets/js/session/files.js)
// and its hashing (session/hashing.js, the vendored @noble/hashes), driven
// as the data-channel driver drives them, with a simulated host; and the
// session controller's files-only sessions. Pure: no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ACK_EVERY, BUFFER_HIGH, CHUNK_BYTES, CHUNK_HEADER, CLOSED_TEXT, DAMAGED_TEXT, FilesCore, READ_BYTES, WINDOW_BYTES,
  decodeChunk, encodeChunk, pathSteps,
} from '../../signaling/assets/js/session/files.js';
import { Hashes } from '../../signaling/assets/js/session/hashing.js';
import { FIRST_FRAME_TIMEOUT_MS, SessionController } from '../../signaling/assets/js/session/controller.js';

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const of = (actions, type) => actions.filter((a) => a.type === type);
const sent = (actions) => of(actions, 'send').map((a) => a.msg);
const reply = (msg) => ({ type: 'text', data: JSON.stringify(msg) });
const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
/** A chunk as the host sends it: an ArrayBuffer of its own. */
const hostChunk = (id, offset, data) => encodeChunk(id, offset, data).buffer;

/**
 * Drives `core` like files-channel.js does, against a file of `content`:
 * reads, hashes (the real Hashes), and a channel whose buffer empties when
 * the test says. Records chunks sent and messages.
 */
function driver(core, content) {
  const d = {
    hashes: new Hashes(),
    buffered: 0,
    chunks: [],
    messages: [],
    reads: [],
    rows: [],
    saved: [],
    stored: [],
    apply(actions) {
      for (const a of actions) {
        if (a.type === 'send') d.messages.push(a.msg);
        if (a.type === 'send_chunk') {
          d.buffered += a.data.length;
          d.chunks.push(decodeChunk(a.data.slice().buffer));
        }
        if (a.type === 'read') d.reads.push(a);
        if (a.type === 'hash') d.hashes.update(a.id, a.data.slice());
        if (a.type === 'digest') d.apply(core.handle({ type: 'hashed', id: a.id, sha256: d.hashes.digest(a.id) }, d.buffered));
        if (a.type === 'store') d.stored.push(a.data.slice());
        if (a.type === 'save') d.saved.push(a);
        if (a.type === 'row') d.rows.push(a.row);
      }
    },
    event(e) { d.apply(core.handle(e, d.buffered)); },
    /** Answer the read asked for (one is outstanding at most). */
    read() {
      const r = d.reads.shift();
      d.event({ type: 'read', id: r.id, offset: r.offset, data: content.subarray(r.offset, r.offset + r.length) });
    },
    drain() {
      d.buffered = 0;
      d.event({ type: 'drain' });
    },
  };
  return d;
}

test('chunks carry a big-endian id and offset before at most 32 KiB of data', () => {
  const c = encodeChunk(7, 2 ** 40 + 3, bytes(5));
  assert.equal(c.length, CHUNK_HEADER + 5);
  assert.deepEqual([...c.subarray(0, 4)], [0, 0, 0, 7]);
  assert.deepEqual([...c.subarray(4, 12)], [0, 0, 1, 0, 0, 0, 0, 3]);
  const back = decodeChunk(c.buffer);
  assert.equal(back.id, 7);
  assert.equal(back.offset, 2 ** 40 + 3);
  assert.deepEqual([...back.data], [...bytes(5)]);
  assert.equal(decodeChunk(new ArrayBuffer(11)), null, 'shorter than its header');
  assert.equal(decodeChunk(new ArrayBuffer(CHUNK_HEADER + CHUNK_BYTES + 1)), null, 'too much data');
});

test('a breadcrumb names each folder of a path with the path up to it', () => {
  assert.deepEqual(pathSteps(''), []);
  assert.deepEqual(pathSteps('Documents/reports'), [
    { name: 'Documents', path: 'Documents' }, { name: 'reports', path: 'Documents/reports' },
  ]);
});

test('a file is sent in chunks within the window and the buffer, then announced with its SHA-256', () => {
  const size = 3 * WINDOW_BYTES + 12345;
  const content = bytes(size);
  const core = new FilesCore();
  const d = driver(core, content);
  d.event({ type: 'open' });
  d.event({ type: 'put', name: 'big.bin', size, modifiedMs: 1700000000000 });
  assert.deepEqual(d.messages, [{ type: 'put', id: 1, name: 'big.bin', size, modified_ms: 1700000000000 }]);
  d.event(reply({ type: 'put_ready', id: 1, offset: 0 }));
  let acked = 0;
  // The host acknowledges every ACK_EVERY bytes it has, as it writes them.
  for (let guard = 0; guard < 10000 && !d.messages.some((m) => m.type === 'put_end'); guard++) {
    if (d.reads.length) d.read();
    const last = d.chunks.at(-1);
    const top = last ? last.offset + last.data.length : 0;
    assert.ok(top - acked <= WINDOW_BYTES, `${top - acked} bytes beyond the last ack`);
    assert.ok(d.buffered <= BUFFER_HIGH + CHUNK_HEADER + CHUNK_BYTES, `buffered ${d.buffered}`);
    if (d.reads.length) continue;
    if (d.buffered >= BUFFER_HIGH) {
      d.drain();
      continue;
    }
    if (top - acked >= ACK_EVERY || top === size) {
      acked = top;
      d.event(reply({ type: 'ack', id: 1, offset: acked }));
    }
  }
  // Every byte once, in order, in chunks of at most CHUNK_BYTES.
  let at = 0;
  for (const c of d.chunks) {
    assert.equal(c.id, 1);
    assert.equal(c.offset, at);
    assert.ok(c.data.length <= CHUNK_BYTES);
    at += c.data.length;
  }
  assert.equal(at, size);
  assert.deepEqual(d.messages.at(-1), { type: 'put_end', id: 1, sha256: sha(content) });
  d.event(reply({ type: 'put_done', id: 1, name: 'big (1).bin' }));
  const last = d.rows.at(-1);
  assert.equal(last.state, 'done');
  assert.equal(last.text, 'Sent');
  assert.equal(last.storedName, 'big (1).bin');
});

test('no more than the window goes out before an ack, whatever the buffer', () => {
  const size = 2 * WINDOW_BYTES;
  const core = new FilesCore();
  const d = driver(core, bytes(size));
  d.event({ type: 'open' });
  d.event({ type: 'put', name: 'w.bin', size });
  d.event(reply({ type: 'put_ready', id: 1, offset: 0 }));
  for (let i = 0; i < 100 && (d.reads.length || d.buffered); i++) {
    if (d.reads.length) d.read();
    else d.drain();
  }
  const top = d.chunks.at(-1).offset + d.chunks.at(-1).data.length;
  assert.equal(top, WINDOW_BYTES, 'stops at the window');
  d.event(reply({ type: 'ack', id: 1, offset: ACK_EVERY }));
  const after = d.chunks.at(-1).offset + d.chunks.at(-1).data.length;
  assert.equal(after, WINDOW_BYTES + ACK_EVERY, 'one ack opens that much more');
});

test('a resumed file is hashed whole but sent from the host\'s offset', () => {
  const size = 2 * READ_BYTES + 100;
  const offset = READ_BYTES + 2 * CHUNK_BYTES + 5;
  const content = bytes(size);
  const core = new FilesCore();
  const d = driver(core, content);
  d.event({ type: 'open' });
  d.event({ type: 'put', name: 'r.bin', size, folder: 'Documents/sub' });
  assert.equal(d.messages[0].folder, 'Documents/sub');
  d.event(reply({ type: 'put_ready', id: 1, offset }));
  assert.equal(d.rows.at(-1).done, offset, 'the progress starts at what the host has');
  for (let i = 0; i < 100 && !d.messages.some((m) => m.type === 'put_end'); i++) {
    if (d.reads.length) d.read();
    else d.drain();
  }
  assert.equal(d.chunks[0].offset, offset, 'nothing before the offset is sent');
  assert.equal(d.chunks.reduce((n, c) => n + c.data.length, 0), size - offset);
  assert.deepEqual(d.messages.at(-1), { type: 'put_end', id: 1, sha256: sha(content) });
});

test('an empty file is announced at once; an offset past the end fails the row', () => {
  const core = new FilesCore();
  const d = driver(core, bytes(0));
  d.event({ type: 'open' });
  d.event({ type: 'put', name: 'empty', size: 0 });
  d.event(reply({ type: 'put_ready', id: 1, offset: 0 }));
  assert.deepEqual(d.messages.at(-1), { type: 'put_end', id: 1, sha256: sha(new Uint8Array(0)) });
  d.event({ type: 'put', name: 'x', size: 10 });
  d.event(reply({ type: 'put_ready', id: 2, offset: 11 }));
  assert.equal(d.rows.at(-1).id, 2, 'waits for the first to finish');
  assert.equal(d.rows.at(-1).state, 'waiting');
  d.event(reply({ type: 'put_done', id: 1, name: 'empty' }));
  d.event(reply({ type: 'put_ready', id: 2, offset: 11 }));
  assert.equal(d.rows.at(-1).state, 'failed');
  assert.match(d.rows.at(-1).text, /past the file's end/);
});

test('transfers run one at a time; cancel tells the host and starts the next', () => {
  const core = new FilesCore();
  const d = driver(core, bytes(100));
  d.event({ type: 'put', name: 'a', size: 100 });
  d.event({ type: 'put', name: 'b', size: 100 });
  assert.deepEqual(d.messages, [], 'nothing before the channel is ready');
  d.event({ type: 'open' });
  assert.deepEqual(d.messages.map((m) => [m.type, m.id]), [['put', 1]]);
  d.event({ type: 'cancel', id: 1 });
  assert.deepEqual(d.messages.slice(1).map((m) => [m.type, m.id]), [['cancel', 1], ['put', 2]]);
  assert.ok(d.rows.some((r) => r.id === 1 && r.state === 'cancelled' && r.text === 'Cancelled'));
  d.event(reply({ type: 'put_ready', id: 1, offset: 0 }));
  assert.equal(d.chunks.length, 0, 'a late reply for a cancelled transfer does nothing');
  d.event(reply({ type: 'error', id: 2, message: 'the disk is full' }));
  assert.deepEqual([d.rows.at(-1).state, d.rows.at(-1).text], ['failed', 'the disk is full']);
});

test('a fetched file is stored, acknowledged about every 512 KiB, checked, then saved', () => {
  const size = 3 * ACK_EVERY + 1000;
  const content = bytes(size);
  const core = new FilesCore();
  const d = driver(core, null);
  d.event({ type: 'open' });
  d.event({ type: 'get', path: 'Documents/report.pdf' });
  assert.deepEqual(d.messages, [{ type: 'get', id: 1, path: 'Documents/report.pdf', offset: 0 }]);
  d.event(reply({ type: 'get_ready', id: 1, name: 'report.pdf', size, offset: 0 }));
  for (let at = 0; at < size; at += CHUNK_BYTES) {
    d.event({ type: 'binary', data: hostChunk(1, at, content.subarray(at, at + CHUNK_BYTES)) });
  }
  const acks = d.messages.filter((m) => m.type === 'ack').map((m) => m.offset);
  assert.deepEqual(acks, [1, 2, 3].map((n) => n * ACK_EVERY), 'none after the last byte');
  d.event(reply({ type: 'get_done', id: 1, sha256: sha(content) }));
  assert.deepEqual(d.saved, [{ type: 'save', id: 1, name: 'report.pdf' }]);
  assert.equal(Buffer.concat(d.stored).compare(Buffer.from(content)), 0);
  assert.deepEqual([d.rows.at(-1).state, d.rows.at(-1).text], ['done', 'Downloaded']);
});

test('a fetch the host finished before the page\'s acks reached it is still saved', () => {
  const size = 2 * ACK_EVERY + 5;
  const content = bytes(size);
  const core = new FilesCore();
  const d = driver(core, null);
  // Hashing takes a while: the digest comes later than the host's answers.
  const digests = [];
  const apply = d.apply;
  d.apply = (actions) => apply(actions.filter((a) => a.type !== 'digest' || !digests.push(a)));
  d.event({ type: 'open' });
  d.event({ type: 'get', path: 'D/f' });
  d.event(reply({ type: 'get_ready', id: 1, name: 'f', size, offset: 0 }));
  for (let at = 0; at < size; at += CHUNK_BYTES) {
    d.event({ type: 'binary', data: hostChunk(1, at, content.subarray(at, at + CHUNK_BYTES)) });
  }
  d.event(reply({ type: 'get_done', id: 1, sha256: sha(content) }));
  // The host had forgotten the transfer when the acks arrived.
  d.event(reply({ type: 'error', id: 1, message: 'no transfer 1' }));
  d.event(reply({ type: 'error', id: 1, message: 'no transfer 1' }));
  apply(digests);
  assert.deepEqual(d.saved, [{ type: 'save', id: 1, name: 'f' }]);
  assert.equal(d.rows.at(-1).state, 'done');
});

test('a fetched file whose hash does not match is not saved', () => {
  const core = new FilesCore();
  const d = driver(core, null);
  d.event({ type: 'open' });
  d.event({ type: 'get', path: 'Documents/a.txt' });
  d.event(reply({ type: 'get_ready', id: 1, name: 'a.txt', size: 3, offset: 0 }));
  d.event({ type: 'binary', data: hostChunk(1, 0, bytes(3)) });
  d.event(reply({ type: 'get_done', id: 1, sha256: 'ab'.repeat(32) }));
  assert.deepEqual(d.saved, []);
  assert.deepEqual([d.rows.at(-1).state, d.rows.at(-1).text], ['failed', DAMAGED_TEXT]);
});

test('data out of order or past the size ends the fetch, and the host is told', () => {
  const core = new FilesCore();
  const d = driver(core, null);
  d.event({ type: 'open' });
  d.event({ type: 'get', path: 'D/a' });
  d.event(reply({ type: 'get_ready', id: 1, name: 'a', size: 10, offset: 0 }));
  d.event({ type: 'binary', data: hostChunk(1, 4, bytes(3)) });
  assert.deepEqual(d.messages.at(-1), { type: 'cancel', id: 1 });
  assert.equal(d.rows.at(-1).state, 'failed');
});

test('listings are answered by id, and a closed channel fails what is open', () => {
  const core = new FilesCore();
  const d = driver(core, bytes(10));
  d.event({ type: 'list', path: '' });
  assert.deepEqual(d.messages, [], 'held until the channel is ready');
  d.event({ type: 'open' });
  assert.deepEqual(d.messages, [{ type: 'list', id: 1, path: '' }]);
  const listing = core.handle(reply({
    type: 'listing', id: 1, path: '', truncated: false,
    entries: [{ name: 'Documents', kind: 'folder', size: 0, modified_ms: 5 }, { name: 5, kind: 'file' }],
  }));
  assert.deepEqual(listing, [{
    type: 'listing', id: 1, path: '', truncated: false,
    entries: [{ name: 'Documents', kind: 'folder', size: 0, modifiedMs: 5 }],
  }]);
  d.event({ type: 'list', path: 'Nope' });
  assert.deepEqual(core.handle(reply({ type: 'error', id: 2, message: 'no such folder' })),
    [{ type: 'list_failed', id: 2, path: 'Nope', message: 'no such folder' }]);
  d.event({ type: 'put', name: 'a', size: 10 });
  d.event({ type: 'list', path: 'Documents' });
  const closed = core.handle({ type: 'close' });
  assert.ok(closed.some((a) => a.type === 'row' && a.row.state === 'failed' && a.row.text === CLOSED_TEXT));
  assert.ok(closed.some((a) => a.type === 'list_failed' && a.path === 'Documents'));
  assert.deepEqual(core.handle(reply({ type: 'error', message: 'bad request' })), [{ type: 'notice', message: 'bad request' }]);
});

test('a files-only session asks for no picture and gets its channels only once the host is verified', () => {
  const c = new SessionController('dev_1', 'r1');
  c.filesOnly = true;
  c.handle(0, { type: 'key_checked', state: 'match' });
  const start = c.handle(0, { type: 'start', early: false, online: true });
  assert.deepEqual(sent(start), [{ type: 'session_request', device_id: 'dev_1', request_id: 'r1', files_only: true }]);
  c.handle(0, { type: 'server', msg: { type: 'session_created', request_id: 'r1', session_id: 's1', permission: 'view', ice_servers: [] } });
  c.handle(0, { type: 'server', msg: { type: 'offer', session_id: 's1', sdp: 'v=0' } });
  c.handle(0, { type: 'channel_open', label: 'control' });
  assert.deepEqual(c.handle(0, { type: 'channel_open', label: 'files' }), [{ type: 'status', text: null }], 'not before verified');
  const verified = c.handle(10, { type: 'verified', safetyCode: '1' });
  assert.deepEqual(verified.map((a) => a.type), ['verified', 'files_ready']);
  assert.deepEqual(c.handle(FIRST_FRAME_TIMEOUT_MS + 1, { type: 'tick' }), [], 'no picture needed');
  assert.deepEqual(c.handle(11, { type: 'channel_open', label: 'clipboard' }), [{ type: 'clipboard_ready' }]);
  // A host that opens an input channel anyway gets no input, no heartbeat.
  c.permission = 'control';
  assert.deepEqual(c.handle(12, { type: 'channel_open', label: 'input' }), []);
  assert.deepEqual(c.handle(12, { type: 'local_input', msg: { type: 'heartbeat' } }), []);
  assert.equal(c.deadline(), null);
});

test('a screen session without its files channel fails on no picture, as before', () => {
  const c = new SessionController('dev_1', 'r1');
  c.handle(0, { type: 'key_checked', state: 'match' });
  assert.equal(sent(c.handle(0, { type: 'start', early: false, online: true }))[0].files_only, undefined);
  c.handle(0, { type: 'server', msg: { type: 'session_created', request_id: 'r1', session_id: 's1', permission: 'control', ice_servers: [] } });
  c.handle(0, { type: 'channel_open', label: 'files' });
  const end = c.handle(FIRST_FRAME_TIMEOUT_MS + 1, { type: 'tick' });
  assert.match(end.at(-1).message, /No picture arrived/);
});
