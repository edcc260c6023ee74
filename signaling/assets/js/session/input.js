// Mouse, wheel and keyboard on the remote screen element become the input
// messages of docs/protocol.md (section 11.1). Coordinates are normalized
// against the picture's displayed rectangle, so scaling and letterboxing are
// accounted for. Keys are sent only while the element has focus; losing focus
// releases everything.

import { fitRect, normalize } from './geometry.js';

const BUTTONS = ['left', 'middle', 'right', 'back', 'forward'];
const LINE_PX = 40;
const CODE_RE = /^[A-Za-z0-9]{1,32}$/;
const encoder = new TextEncoder();

/** The chord that hands keyboard focus back to the page. */
export const LEAVE_CHORD = 'Ctrl+Alt+Shift+ArrowUp';

/** Wheel deltas in lines, clamped to what the protocol allows. */
export function wheelLines(e) {
  const scale = e.deltaMode === 1 ? 1 : e.deltaMode === 2 ? 20 : 1 / LINE_PX;
  const clamp = (v) => Math.max(-1000, Math.min(1000, v * scale));
  return { dx: clamp(e.deltaX), dy: clamp(e.deltaY) };
}

/** The `key` message for a keyboard event, or null if it cannot be sent. */
export function keyMessage(e, down) {
  const code = CODE_RE.test(e.code) ? e.code : 'Unidentified';
  const msg = { type: 'key', code, down };
  const printable = [...e.key].length === 1 && !e.ctrlKey && !e.metaKey;
  if (down && printable && encoder.encode(e.key).length <= 64) msg.text = e.key;
  if (code === 'Unidentified' && !msg.text) return null;
  return msg;
}

export class InputCapture {
  /**
   * `el` shows the picture (video or canvas); `size()` returns the remote
   * picture size {width, height} and whether it is enlarged to fill `el`
   * ({enlarge}, see geometry.js); `send(msg)` delivers one input message.
   */
  constructor(el, size, send, onLeave) {
    this.el = el;
    this.size = size;
    this.send = send;
    this.onLeave = onLeave;
    this.locked = null; // virtual cursor while the pointer is locked
    this.off = [];
    const on = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      this.off.push(() => target.removeEventListener(type, fn, opts));
    };
    on(el, 'pointermove', (e) => this.move(e));
    on(el, 'pointerdown', (e) => this.button(e, true));
    on(el, 'pointerup', (e) => this.button(e, false));
    on(el, 'wheel', (e) => this.wheel(e), { passive: false });
    on(el, 'contextmenu', (e) => e.preventDefault());
    on(el, 'keydown', (e) => this.key(e, true));
    on(el, 'keyup', (e) => this.key(e, false));
    on(el, 'blur', () => this.send({ type: 'release_all' }));
    on(document, 'pointerlockchange', () => {
      this.locked = document.pointerLockElement === el ? (this.last ?? { x: 0.5, y: 0.5 }) : null;
    });
  }

  detach() {
    for (const f of this.off) f();
    this.off = [];
  }

  position(e) {
    if (this.locked) {
      const r = this.rect();
      this.locked = {
        x: Math.min(1, Math.max(0, this.locked.x + e.movementX / (r.width || 1))),
        y: Math.min(1, Math.max(0, this.locked.y + e.movementY / (r.height || 1))),
      };
      return this.locked;
    }
    const box = this.el.getBoundingClientRect();
    return normalize(e.clientX - box.left, e.clientY - box.top, this.rect());
  }

  rect() {
    const { width, height, enlarge } = this.size();
    return fitRect(this.el.clientWidth, this.el.clientHeight, width, height, { enlarge });
  }

  move(e) {
    const p = this.position(e);
    if (!p) return;
    this.last = p;
    this.send({ type: 'pointer_move', x: p.x, y: p.y });
  }

  button(e, down) {
    const button = BUTTONS[e.button];
    const p = this.position(e);
    if (!button || !p) return;
    e.preventDefault();
    if (down) {
      this.el.focus({ preventScroll: true });
      this.el.setPointerCapture?.(e.pointerId);
    }
    this.last = p;
    this.send({ type: 'pointer_button', button, down, x: p.x, y: p.y });
  }

  wheel(e) {
    e.preventDefault();
    const { dx, dy } = wheelLines(e);
    if (dx || dy) this.send({ type: 'wheel', dx, dy });
  }

  key(e, down) {
    if (down && e.code === 'ArrowUp' && e.ctrlKey && e.altKey && e.shiftKey) {
      e.preventDefault();
      this.send({ type: 'release_all' });
      this.onLeave?.();
      return;
    }
    e.preventDefault();
    e.stopPropagation();
    const msg = keyMessage(e, down);
    if (msg) this.send(msg);
  }

  /** Ctrl+Alt+Del, pressed and released in order. */
  ctrlAltDel() {
    const keys = ['ControlLeft', 'AltLeft', 'Delete'];
    for (const code of keys) this.send({ type: 'key', code, down: true });
    for (const code of keys.reverse()) this.send({ type: 'key', code, down: false });
  }
}
