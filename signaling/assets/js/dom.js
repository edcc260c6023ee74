// Building DOM nodes. Everything from the server (names, OS strings,
// usernames) goes in as text nodes, never as HTML: there is no innerHTML
// anywhere in the app.

/**
 * Create an element. `props` sets properties (className, type, disabled...),
 * `dataset`, `attrs` (attributes such as aria-*) and `on` (event handlers).
 * Children are nodes or strings; strings become text nodes.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  const { attrs, dataset, on, ...rest } = props;
  Object.assign(el, rest);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  Object.assign(el.dataset, dataset ?? {});
  for (const [k, f] of Object.entries(on ?? {})) el.addEventListener(k, f);
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A labelled input: returns the wrapper; the input is `wrapper.input`. */
export function field(label, inputProps) {
  const id = `f-${Math.random().toString(36).slice(2, 10)}`;
  const input = h('input', { id, ...inputProps });
  const wrap = h('div', { className: 'field' }, h('label', { htmlFor: id }, label), input);
  wrap.input = input;
  return wrap;
}

/** A modal <dialog> with a title; resolves when it closes. */
export function dialog(title, ...body) {
  const close = h('button', { type: 'button', className: 'icon', attrs: { 'aria-label': 'Close' } }, '×');
  const d = h('dialog', { className: 'dialog' },
    h('header', {}, h('h2', {}, title), close),
    ...body);
  close.addEventListener('click', () => d.close());
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

/** A one-line message area for errors and notices. */
export function notice() {
  const el = h('p', { className: 'notice', attrs: { role: 'alert', 'aria-live': 'polite' } });
  el.show = (text, kind = 'error') => {
    el.textContent = text ?? '';
    el.dataset.kind = kind;
    el.hidden = !text;
  };
  el.hidden = true;
  return el;
}
