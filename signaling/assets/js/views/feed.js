// The activity feed: newest first, updated live, times kept fresh. It is
// drawn only while it is on the page: the first localised time in a page
// costs 30 to 40 ms here (the browser loads its locale data), which a
// session being set up must not wait for.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { ago, describe } from '../format.js';

export class Feed {
  constructor() {
    this.events = [];
    this.list = h('ol', { className: 'feed', dataset: { testid: 'feed' } });
    this.more = h('button', { type: 'button', className: 'link', hidden: true, on: { click: () => this.loadMore() } }, 'Show older');
    this.el = h('section', { className: 'panel', attrs: { 'aria-labelledby': 'feed-title' } },
      h('header', {}, h('h2', { id: 'feed-title' }, 'Activity')), this.list, this.more);
    this.tick = setInterval(() => this.render(), 30000);
  }

  async reload() {
    const page = await api.events();
    this.events = page.events;
    this.next = page.next_before;
    this.render();
  }

  async loadMore() {
    if (!this.next) return;
    const page = await api.events(this.next);
    this.events.push(...page.events);
    this.next = page.next_before;
    this.render();
  }

  add(event) {
    if (this.events.some((e) => e.id === event.id)) return;
    this.events.unshift(event);
    this.events.sort((a, b) => b.id - a.id);
    this.render();
  }

  /** Call after putting the feed on the page: draws what came meanwhile. */
  shown() {
    if (this.stale) this.render();
  }

  render() {
    this.stale = !this.el.isConnected;
    if (this.stale) return;
    const now = Date.now();
    replace(this.list, this.events.length
      ? this.events.map((e) => h('li', { dataset: { kind: e.kind } },
        h('span', { className: 'what' }, describe(e)),
        h('time', { dateTime: new Date(e.at).toISOString(), title: new Date(e.at).toLocaleString() }, ago(e.at, now))))
      : h('li', { className: 'empty' }, 'Nothing has happened yet.'));
    this.more.hidden = !this.next;
  }

  destroy() {
    clearInterval(this.tick);
  }
}
