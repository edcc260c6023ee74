// Where the remote screen is drawn: a <video> (the default), or a <canvas>
// fed by WebCodecs in a worker, which takes encoded frames from the
// receiver before Chromium's jitter buffer (`?render=webcodecs`).
//
// The <video> path is the default because it measured faster here: with
// the host's playout-delay extension (min = max = 0) Chromium shows frames
// at once, and its compositor converts colours more cheaply than a
// software ImageBitmap per frame. See docs/performance.md for both.
// Both carry data-testid="remote-screen" and the same API.

import { h } from '../dom.js';

/** The renderer: `?render=webcodecs` asks for WebCodecs where it exists. */
export function renderMode(search = location.search) {
  if (new URLSearchParams(search).get('render') !== 'webcodecs') return 'video';
  const decoder = typeof VideoDecoder === 'function';
  const transform = typeof RTCRtpScriptTransform === 'function'
    || (typeof RTCRtpReceiver === 'function' && 'createEncodedStreams' in RTCRtpReceiver.prototype);
  return decoder && transform ? 'webcodecs' : 'video';
}

const common = (label) => ({
  className: 'screen',
  tabIndex: 0,
  dataset: { testid: 'remote-screen' },
  attrs: { 'aria-label': label },
});

/**
 * A surface: `el`, `size()` of the picture, `attach(receiver, stream)`,
 * `framesDecoded`, and callbacks `onFirstFrame` and `onKeyframeNeeded`.
 */
export function createSurface(mode, label) {
  return mode === 'webcodecs' ? canvasSurface(label) : videoSurface(label);
}

function videoSurface(label) {
  const el = h('video', { ...common(label), autoplay: true, muted: true, playsInline: true });
  const s = {
    mode: 'video',
    el,
    size: () => ({ width: el.videoWidth, height: el.videoHeight }),
    get framesDecoded() { return el.getVideoPlaybackQuality?.().totalVideoFrames ?? 0; },
    attach(receiver, stream) {
      el.srcObject = stream;
      el.play().catch(() => {});
      const first = () => s.onFirstFrame?.();
      if ('requestVideoFrameCallback' in el) el.requestVideoFrameCallback(first);
      else el.addEventListener('loadeddata', first, { once: true });
    },
    lost() {},
    close() { el.srcObject = null; },
  };
  return s;
}

function canvasSurface(label) {
  const el = h('canvas', { ...common(label), width: 0, height: 0 });
  // The worker decodes and converts; showing a picture here is a hand-over
  // of its bitmap, not a copy, so the page's thread never delays one.
  const ctx = el.getContext('bitmaprenderer');
  const worker = new Worker(new URL('./decoder-worker.js', import.meta.url), { type: 'module' });
  let size = { width: 0, height: 0 };
  let first = true;
  const s = {
    mode: 'webcodecs',
    el,
    framesDecoded: 0,
    size: () => size,
    attach(receiver) {
      if (typeof RTCRtpScriptTransform === 'function') {
        receiver.transform = new RTCRtpScriptTransform(worker, {});
      } else {
        const { readable } = receiver.createEncodedStreams();
        worker.postMessage({ readable }, [readable]);
      }
    },
    /** Tell the decoder that frames were lost: it waits for a keyframe. */
    lost() { worker.postMessage({ lost: true }); },
    close() { worker.terminate(); },
  };
  worker.addEventListener('message', (e) => {
    const { bitmap, drawn, keyframe, error } = e.data;
    if (bitmap) {
      if (el.width !== bitmap.width || el.height !== bitmap.height) {
        el.width = bitmap.width;
        el.height = bitmap.height;
      }
      ctx.transferFromImageBitmap(bitmap);
      size = { width: el.width, height: el.height };
      s.framesDecoded = drawn;
      el.framesDecoded = drawn;
      if (first) {
        first = false;
        s.onFirstFrame?.();
      }
    }
    if (keyframe) s.onKeyframeNeeded?.();
    if (error) console.warn(`video decoder: ${error}`);
  });
  return s;
}
