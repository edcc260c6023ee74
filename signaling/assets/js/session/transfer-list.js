// The rows of file transfers, in the session view and the Files view: a
// row per file with its name, a <progress> and "Cancel", ending with
// "Sent", "Downloaded" or the error. Rows come from the files core
// (files.js, `row` actions); progress is drawn at most every
// REDRAW_MS, the end of a transfer at once.

import { h, replace } from '../dom.js';
import { humanBytes } from './clipboard.js';

const REDRAW_MS = 100;
const ENDED = new Set(['done', 'failed', 'cancelled']);

/** The status text of a row that has not ended. */
function progressText(row) {
  switch (row.state) {
    case 'waiting': return 'Waiting';
    case 'asked': return 'Starting…';
    case 'checking': return 'Checking…';
    case 'finishing': return 'Finishing…';
    default: return row.size ? `${humanBytes(row.done)} of ${humanBytes(row.size)}` : '';
  }
}

/** `cancel(id)` stops a transfer; returns {el, update(row)}. */
export function transferList(cancel) {
  const el = h('ul', { className: 'transfers', hidden: true, dataset: { testid: 'transfers' }, attrs: { 'aria-label': 'File transfers' } });
  const items = new Map();
  const dirty = new Map();
  let timer = null;

  function item(row) {
    const name = h('span', { className: 'transfer-name', dataset: { testid: 'transfer-name' } });
    const bar = h('progress', { max: 1, value: 0 });
    const status = h('span', { className: 'transfer-status', dataset: { testid: 'transfer-status' } });
    const stop = h('button', {
      type: 'button', className: 'secondary small', attrs: { 'aria-label': `Cancel ${row.name}` }, on: { click: () => cancel(row.id) },
    }, 'Cancel');
    const li = h('li', { className: 'transfer', dataset: { testid: 'transfer', transferId: String(row.id), kind: row.kind } }, name, bar, status, stop);
    const it = { li, name, bar, status, stop };
    items.set(row.id, it);
    el.prepend(li);
    el.hidden = false;
    return it;
  }

  function draw(row) {
    const it = items.get(row.id) ?? item(row);
    const shown = row.storedName && row.storedName !== row.name ? `${row.name} → ${row.storedName}` : row.name;
    if (it.name.textContent !== shown) replace(it.name, shown);
    it.li.dataset.state = row.state;
    it.bar.max = Math.max(1, row.size ?? 1);
    it.bar.value = row.state === 'done' ? it.bar.max : row.done;
    it.status.textContent = ENDED.has(row.state) ? row.text : progressText(row);
    it.status.setAttribute('role', row.state === 'failed' ? 'alert' : 'status');
    it.stop.hidden = ENDED.has(row.state);
  }

  function update(row) {
    if (ENDED.has(row.state) || !items.has(row.id)) {
      dirty.delete(row.id);
      draw(row);
      return;
    }
    dirty.set(row.id, row);
    timer ??= setTimeout(() => {
      timer = null;
      for (const r of dirty.values()) draw(r);
      dirty.clear();
    }, REDRAW_MS);
  }

  return { el, update };
}
