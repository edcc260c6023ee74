// Pure geometry: where a remote screen of `src` size sits inside a box of
// `box` size, centred with its aspect ratio kept (letterboxing), and mapping
// a point in the box to normalized remote coordinates.
//
// By default a picture that fits is shown at its own size and only a larger
// one is shrunk (CSS `object-fit: scale-down`): text stays sharp, and a
// browser without a GPU does not spend a third of a core enlarging every
// frame (docs/performance.md).
// `enlarge` scales it up to fill the box as well (`object-fit: contain`).

/** The displayed rectangle {x, y, width, height} inside the box. */
export function fitRect(boxW, boxH, srcW, srcH, { enlarge = false } = {}) {
  if (!(boxW > 0 && boxH > 0 && srcW > 0 && srcH > 0)) return { x: 0, y: 0, width: 0, height: 0 };
  const fit = Math.min(boxW / srcW, boxH / srcH);
  const scale = enlarge ? fit : Math.min(1, fit);
  const width = srcW * scale;
  const height = srcH * scale;
  return { x: (boxW - width) / 2, y: (boxH - height) / 2, width, height };
}

const clamp01 = (v) => Math.min(1, Math.max(0, v));

/**
 * Normalized remote coordinates (0..1) for a point at (px, py) in box
 * coordinates; points in the letterbox bands clamp to the nearest edge.
 * Null when nothing is displayed yet.
 */
export function normalize(px, py, rect) {
  if (!(rect.width > 0 && rect.height > 0)) return null;
  return { x: clamp01((px - rect.x) / rect.width), y: clamp01((py - rect.y) / rect.height) };
}

/** Whether a box point falls on the picture itself. */
export function inside(px, py, rect) {
  return px >= rect.x && py >= rect.y && px <= rect.x + rect.width && py <= rect.y + rect.height;
}
