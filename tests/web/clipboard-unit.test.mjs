// The page's `clipboard` channel core (signaling/assets/js/session/clipboard.js):
// content assembled from the host's offer, offers of the page's own
// clipboard, nothing echoed back, limits and notices shown once. Pure: no
// browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIP_CHUNK_BYTES, ClipboardCore, MAX_CLIP_BYTES, PERMISSION_TEXT, humanBytes, tooLarge,
} from '../../signaling/assets/js/session/clipboard.js';

const enc = (s) => new TextEncoder().encode(s);
const offer = (mime, size) => JSON.stringify({ type: 'offer', mime, size });
const types = (actions) => actions.map((a) => a.type);

/** The host's offer of `data`, as the channel delivers it. */
function receive(core, mime, data) {
  const out = [...core.message(offer(mime, data.length))];
  for (let at = 0; at < data.length; at += CLIP_CHUNK_BYTES) out.push(...core.data(data.slice(at, at + CLIP_CHUNK_BYTES)));
  return out;
}

test('sizes read as the host writes them', () => {
  assert.equal(humanBytes(512), '512 B');
  assert.equal(humanBytes(2_100_000), '2.1 MB');
  assert.equal(tooLarge(10, 10), null);
  assert.match(tooLarge(17 << 20), /17\.8 MB and is not shared: the limit is 16\.8 MB/);
});

test('the host\'s content is assembled across messages and written once complete', () => {
  const core = new ClipboardCore();
  const png = Uint8Array.from({ length: 2 * CLIP_CHUNK_BYTES + 10 }, (_, i) => i & 255);
  const out = receive(core, 'image/png', png);
  assert.deepEqual(types(out), ['write']);
  assert.equal(out[0].mime, 'image/png');
  assert.deepEqual(out[0].data, png);
  assert.deepEqual(receive(core, 'text/plain', enc('')).map((a) => [a.type, a.data.length]), [['write', 0]], 'empty text');
});

test('the page offers a change once, in chunks, and never echoes what came from the host', () => {
  const core = new ClipboardCore();
  const text = enc('x'.repeat(CLIP_CHUNK_BYTES + 1));
  const out = core.local('text/plain', text);
  assert.deepEqual(out[0], { type: 'send', msg: { type: 'offer', mime: 'text/plain', size: text.length } });
  assert.deepEqual(out.slice(1).map((a) => a.data.length), [CLIP_CHUNK_BYTES, 1]);
  assert.deepEqual(core.local('text/plain', text), [], 'unchanged since sent');

  receive(core, 'text/plain', enc('from the host'));
  assert.deepEqual(core.local('text/plain', enc('from the host')), [], 'came from the host');
  // Chromium gives back its own encoding of an image it was given.
  receive(core, 'image/png', Uint8Array.of(1, 2, 3));
  core.written('image/png', Uint8Array.of(9, 9));
  assert.deepEqual(core.local('image/png', Uint8Array.of(9, 9)), [], 'the browser\'s copy of the host\'s image');
  assert.deepEqual(types(core.local('text/plain', enc('new'))), ['send', 'send_data']);
  assert.deepEqual(receive(core, 'text/plain', enc('new')), [], 'the host sending back what the page sent is not written');
});

test('a view session never offers; too much is a notice once, and its data is skipped', () => {
  const view = new ClipboardCore({ mayOffer: false });
  assert.deepEqual(view.local('text/plain', enc('secret')), []);
  assert.deepEqual(types(receive(view, 'text/plain', enc('ok'))), ['write'], 'it still receives');

  const core = new ClipboardCore({ max: 8 });
  assert.deepEqual(types(core.local('text/plain', null, MAX_CLIP_BYTES + 1)), ['notice']);
  assert.deepEqual(core.local('text/plain', null, MAX_CLIP_BYTES + 1), [], 'once');
  const big = core.message(offer('image/png', 20));
  assert.deepEqual(types(big), ['notice']);
  assert.deepEqual(core.data(new Uint8Array(20)), [], 'dropped');
  assert.deepEqual(types(receive(core, 'text/plain', enc('fits'))), ['write'], 'the next offer is read again');
  assert.deepEqual(core.refused(), [{ type: 'notice', message: PERMISSION_TEXT }]);
  assert.deepEqual(core.refused(), []);
  const notice = JSON.stringify({ type: 'notice', message: 'a view session does not share its clipboard' });
  assert.deepEqual(types(core.message(notice)), ['notice']);
  assert.deepEqual(core.message(notice), []);
});

test('an offer of an unknown kind or a bad size writes nothing', () => {
  const core = new ClipboardCore();
  assert.deepEqual(types(core.message(offer('text/html', 2))), ['notice']);
  assert.deepEqual(core.data(enc('<b')), []);
  assert.deepEqual(core.message(offer('text/plain', -1)), []);
  assert.deepEqual(core.data(enc('zz')), []);
  assert.deepEqual(core.message('not json'), []);
});
