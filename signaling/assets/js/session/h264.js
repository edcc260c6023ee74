// H.264 Annex-B helpers for the page's decoder: NAL unit types, and the
// frame number the host puts in every access unit. Pure, no DOM.

/** The nal_unit_type of every NAL unit in an Annex-B access unit. */
export function nalTypes(bytes) {
  const types = [];
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && (bytes[i + 2] === 1 || (bytes[i + 2] === 0 && bytes[i + 3] === 1))) {
      const start = bytes[i + 2] === 1 ? i + 3 : i + 4;
      if (start < bytes.length) types.push(bytes[start] & 0x1f);
      i = start;
    }
  }
  return types;
}

// The host numbers every frame in an SEI message (user data unregistered,
// UUID "meshdesk-frameno", eight hex digits; see peer/src/h264.rs). Frames
// reach the page's decoder before the browser reorders or drops anything,
// so a gap means a frame was lost and the pictures after it would be
// garbage until the next keyframe.
const UUID = new TextEncoder().encode('meshdesk-frameno');

/** The frame number in an access unit, or null. */
export function frameNumber(bytes) {
  for (let i = 0; i + 30 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && bytes[i + 3] === 6
      && bytes[i + 4] === 5 && bytes[i + 5] === 24 && UUID.every((b, k) => bytes[i + 6 + k] === b)) {
      const n = Number.parseInt(String.fromCharCode(...bytes.subarray(i + 22, i + 30)), 16);
      return Number.isFinite(n) ? n : null;
    }
  }
  return null;
}

/** Whether `next` follows `last` directly (32-bit wrap-around). */
export const follows = (last, next) => next === ((last + 1) >>> 0);

/** Whether `next` is older than or the same as `last` (a late frame). */
export const stale = (last, next) => ((next - last) >>> 0) === 0 || ((next - last) >>> 0) > 0x7fffffff;
