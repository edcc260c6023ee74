// The page's sound queue (signaling/assets/js/session/sound-worklet.js), as
// the AudioWorklet runs it, with the worklet's globals stood in for: it
// waits for a packet before playing, plays in order, never holds more than
// 40 ms, and after running dry waits for a packet again.

import { test } from 'node:test';
import assert from 'node:assert/strict';

let Queue = null;
globalThis.AudioWorkletProcessor = class { constructor() { this.port = {}; } };
globalThis.registerProcessor = (name, cls) => {
  assert.equal(name, 'meshdesk-sound-queue');
  Queue = cls;
};
await import('../../signaling/assets/js/session/sound-worklet.js');

const FRAME = 480;
/** One packet of `n` frames of the value `v` on both channels. */
const packet = (v, n = FRAME) => [new Float32Array(n).fill(v), new Float32Array(n).fill(-v)];
/** One render quantum (128 frames, stereo) out of the queue. */
function render(q) {
  const out = [[new Float32Array(128), new Float32Array(128)]];
  assert.equal(q.process([], out), true);
  return out[0];
}

test('it waits for a packet, then plays the packets in order on both channels', () => {
  const q = new Queue();
  q.push(packet(0.5, 100));
  assert.ok(render(q)[0].every((s) => s === 0), 'less than a packet: silence');
  q.push(packet(0.25));
  const [left, right] = render(q);
  assert.ok(left.slice(0, 100).every((s) => s === 0.5) && left.slice(100).every((s) => s === 0.25));
  assert.ok(right.slice(0, 100).every((s) => s === -0.5));
});

test('it never holds more than 40 ms: the oldest packets go', () => {
  const q = new Queue();
  for (let i = 1; i <= 10; i++) q.push(packet(i / 100));
  assert.ok(q.queued <= 4 * FRAME, `${q.queued} frames queued`);
  assert.equal(render(q)[0][0], Math.fround(0.07), 'what plays is the newest 40 ms');
});

test('running dry plays silence and waits for a packet again', () => {
  const q = new Queue();
  q.push(packet(0.5));
  for (let i = 0; i < 3; i++) render(q);
  const [left] = render(q);
  assert.ok(left.slice(0, 96).every((s) => s === 0.5) && left.slice(96).every((s) => s === 0), 'the end, then silence');
  q.push(packet(0.75, 64));
  assert.ok(render(q)[0].every((s) => s === 0), 'a short packet does not restart it');
});
