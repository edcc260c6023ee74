// Decodes the remote screen with WebCodecs, off the page's main thread.
//
// Encoded H.264 frames come straight from the WebRTC receiver (an encoded
// transform), before Chromium's jitter buffer, so nothing holds them back.
// Each decoded VideoFrame is handed to the page at once. Frames are never
// passed on to the browser's own decoder.
//
// A module worker. Messages to the page: {bitmap, drawn, width, height}
// for each picture, {keyframe: true} (ask the host for a keyframe) and
// {error: text}.

import { follows, frameNumber, nalTypes, stale } from './h264.js';

let decoder = null;
let needKey = true;
let asked = 0;
let pendingParams = null;
let lastNumber = null;
let decoded = 0;

/** Convert a decoded picture to RGB here, off the page's thread, and hand
 * it over without a copy. */
async function show(frame) {
  const { displayWidth: width, displayHeight: height } = frame;
  let bitmap;
  try {
    bitmap = await createImageBitmap(frame);
  } finally {
    frame.close();
  }
  decoded += 1;
  self.postMessage({ bitmap, drawn: decoded, width, height }, [bitmap]);
}

function askForKeyframe() {
  const now = performance.now();
  if (now - asked < 250) return;
  asked = now;
  self.postMessage({ keyframe: true });
}

function makeDecoder() {
  decoder?.close?.();
  decoder = new VideoDecoder({
    output: show,
    error: (e) => {
      self.postMessage({ error: String(e?.message ?? e) });
      decoder = null;
      needKey = true;
      askForKeyframe();
    },
  });
  decoder.configure({ codec: 'avc1.42e01f', optimizeForLatency: true });
}

function onEncoded(encoded) {
  let bytes = new Uint8Array(encoded.data);
  const types = nalTypes(bytes);
  const picture = types.some((t) => t === 1 || t === 5);
  if (!picture) {
    // Parameter sets alone: join them onto the next picture.
    if (types.includes(7) || types.includes(8)) pendingParams = bytes.slice();
    return;
  }
  if (pendingParams) {
    const joined = new Uint8Array(pendingParams.length + bytes.length);
    joined.set(pendingParams);
    joined.set(bytes, pendingParams.length);
    bytes = joined;
    pendingParams = null;
  }
  const key = types.includes(5);
  const number = frameNumber(bytes);
  if (number !== null) {
    if (lastNumber !== null && !key && stale(lastNumber, number)) return;
    const gap = lastNumber !== null && !follows(lastNumber, number);
    lastNumber = number;
    if (gap && !key) needKey = true;
  }
  if (needKey && !key) {
    askForKeyframe();
    return;
  }
  if (!decoder || decoder.state === 'closed') makeDecoder();
  needKey = false;
  try {
    decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: encoded.timestamp, data: bytes }));
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
    needKey = true;
    makeDecoder();
    askForKeyframe();
  }
}

async function pump(readable) {
  const reader = readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onEncoded(value);
  }
}

// RTCRtpScriptTransform: the browser gives the streams here directly.
self.addEventListener('rtctransform', (e) => pump(e.transformer.readable));
// createEncodedStreams(): the page transfers the readable stream.
self.addEventListener('message', (e) => {
  if (e.data?.readable) pump(e.data.readable);
  if (e.data?.lost) {
    needKey = true;
    askForKeyframe();
  }
});
