// The account's settings page at #/settings: a plain list of sections,
// each an object with an `el` (and optionally `load()`), drawn in order.

import { h, replace } from '../dom.js';
import { Tokens } from './tokens.js';
import { TwoFactor } from './factors.js';
import { Webhooks } from './webhooks.js';

/** The sections of the page, in order. Add a section here. */
function sections() {
  return [new TwoFactor(), new Tokens(), new Webhooks()];
}

/** Draw the settings page into `root`; `back` returns to the devices. */
export function settingsView(root, header, back) {
  const list = sections();
  const close = h('button', { type: 'button', className: 'secondary small', on: { click: back } }, 'Back to devices');
  const main = h('main', { className: 'settings' },
    h('header', { className: 'settings-head' }, h('h1', {}, 'Settings'), close),
    ...list.map((s) => s.el));
  replace(root, header, main);
  for (const s of list) s.load?.();
}
