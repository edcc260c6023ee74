// The page's own sound player, where the browser has WebCodecs and
// AudioWorklet: the host sends the Opus packets on the unreliable `sound`
// data channel (4 bytes of RTP timestamp, big-endian, then the packet),
// AudioDecoder decodes them as they arrive and an AudioWorklet plays them
// from a short queue (sound-worklet.js). That skips the jitter buffer of
// the browser's WebRTC audio, which holds the sound about 33 ms on a
// loopback link (scripts/bench sound). Muting sets the gain to 0.
//
// `stream` carries what plays (after the mute), for the page's hidden
// <audio data-testid="remote-sound">, which stays muted itself.

export const soundPlayerSupported = () =>
  typeof AudioDecoder === 'function' && typeof AudioWorkletNode === 'function';

export async function createSoundPlayer() {
  const ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
  await ctx.audioWorklet.addModule(new URL('./sound-worklet.js', import.meta.url));
  const queue = new AudioWorkletNode(ctx, 'meshdesk-sound-queue', { outputChannelCount: [2] });
  const gain = ctx.createGain();
  const tap = ctx.createMediaStreamDestination();
  queue.connect(gain);
  gain.connect(ctx.destination);
  gain.connect(tap);
  const decoder = new AudioDecoder({
    output: (data) => {
      const left = new Float32Array(data.numberOfFrames);
      const right = new Float32Array(data.numberOfFrames);
      data.copyTo(left, { planeIndex: 0, format: 'f32-planar' });
      data.copyTo(right, { planeIndex: data.numberOfChannels > 1 ? 1 : 0, format: 'f32-planar' });
      data.close();
      queue.port.postMessage([left, right], [left.buffer, right.buffer]);
    },
    error: (e) => console.warn('the remote PC\'s sound did not decode', e),
  });
  decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2 });
  ctx.resume().catch(() => {});
  return {
    stream: tap.stream,
    /** One message of the `sound` channel. */
    push(message) {
      if (!(message instanceof ArrayBuffer) || message.byteLength < 5 || decoder.state !== 'configured') return;
      const timestamp = new DataView(message).getUint32(0);
      // Microseconds on the 48 kHz RTP clock; only the order matters here.
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: (timestamp / 48) * 1000, data: new Uint8Array(message, 4) }));
    },
    setMuted(muted) { gain.gain.value = muted ? 0 : 1; },
    close() {
      if (decoder.state !== 'closed') decoder.close();
      ctx.close().catch(() => {});
    },
  };
}
