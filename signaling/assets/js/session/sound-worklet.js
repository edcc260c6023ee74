// The AudioWorklet side of the page's sound player (sound.js): decoded
// samples wait here for the sound card, as in the native viewer's queue
// (viewer/src/sound/queue.rs): at most 40 ms (older samples are dropped, so
// a stall never leaves the sound behind the picture), and after running
// dry it waits for one packet (10 ms) before playing again.

const FRAME = 480;
const START = FRAME;
const MAX_QUEUED = 4 * FRAME;

class SoundQueue extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunks = [];
    this.offset = 0;
    this.queued = 0;
    this.playing = false;
    this.port.onmessage = (e) => this.push(e.data);
  }

  /** `[left, right]` Float32Arrays of one packet. */
  push([left, right]) {
    this.chunks.push([left, right]);
    this.queued += left.length;
    while (this.queued > MAX_QUEUED && this.chunks.length > 1) {
      const [old] = this.chunks.shift();
      this.queued -= old.length - this.offset;
      this.offset = 0;
    }
  }

  process(_inputs, outputs) {
    const [out] = outputs;
    const n = out[0].length;
    if (!this.playing && this.queued >= START) this.playing = true;
    let i = 0;
    while (this.playing && i < n && this.chunks.length) {
      const [left, right] = this.chunks[0];
      const take = Math.min(n - i, left.length - this.offset);
      out[0].set(left.subarray(this.offset, this.offset + take), i);
      out[1]?.set(right.subarray(this.offset, this.offset + take), i);
      i += take;
      this.offset += take;
      this.queued -= take;
      if (this.offset === left.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    if (i < n) {
      for (const channel of out) channel.fill(0, i);
      this.playing = false;
    }
    return true;
  }
}

registerProcessor('meshdesk-sound-queue', SoundQueue);
