// A hook's history, newest first, a page at a time: its last fires (with the task's state) and its fire log
// (every event, declined and refused ones too).

import { fireLog, lastFires } from '../api.js';
import { badge, busy, empty, errorBox, h, replace, table } from '../dom.js';
import { timeElement } from '../time.js';

const PAGE = 20;

/** The last fires of `g/h`: time, how it fired, task, task state, result and error. */
export function lastFiresPanel(g, hk) {
  return pagedPanel({
    id: 'last-fires',
    title: 'Last fires',
    emptyText: 'This hook has not fired yet.',
    load: async (continuationToken) => {
      // Upstream answers 404 "No such hook or never fired" for a hook that exists but has not fired.
      const reply = await lastFires(g, hk, { limit: PAGE, continuationToken }).catch((e) => {
        if (e.status === 404 && !continuationToken) return { lastFires: [] };
        throw e;
      });
      return { items: reply.lastFires, next: reply.continuationToken };
    },
    headings: ['Time', 'Fired by', 'Task', 'Task state', 'Result', 'Error'],
    row: (fire) => h('tr', { class: 'fire' },
      h('td', {}, timeElement(fire.taskCreateTime)),
      h('td', {}, fire.firedBy),
      h('td', {}, fire.taskId ? h('code', { class: 'task-id' }, fire.taskId) : '—'),
      h('td', { class: 'task-state' }, badge('state', fire.taskState)),
      h('td', {}, badge('result', fire.result)),
      h('td', { class: 'error-text' }, fire.error || '')),
  });
}

/** The fire log of `g/h`: every event with its outcome, task, error and source. */
export function fireLogPanel(g, hk) {
  return pagedPanel({
    id: 'fire-log',
    title: 'Fire log',
    emptyText: 'No event has reached this hook yet.',
    load: async (continuationToken) => {
      const reply = await fireLog(g, hk, { limit: PAGE, continuationToken });
      return { items: reply.events, next: reply.continuationToken };
    },
    headings: ['Time', 'Fired by', 'Outcome', 'Task', 'Error', 'Source'],
    row: (event) => h('tr', { class: 'event' },
      h('td', {}, timeElement(event.time)),
      h('td', {}, event.firedBy),
      h('td', {}, badge('outcome', event.outcome)),
      h('td', {}, event.taskId ? h('code', {}, event.taskId) : '—'),
      h('td', { class: 'error-text' }, event.error || ''),
      h('td', {}, sourceText(event.source))),
  });
}

function sourceText(source) {
  const entries = Object.entries(source || {});
  return entries.length ? h('code', {}, entries.map(([k, v]) => `${k}: ${v}`).join(', ')) : '—';
}

/** A panel with a table filled a page at a time, and a button for the next page while there is one. */
function pagedPanel({ id, title, emptyText, load, headings, row }) {
  const body = h('div', {});
  const more = h('button', { type: 'button', class: 'secondary more', hidden: true }, 'Show older');
  const panel = h('section', { class: 'panel wide', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title), body, more);
  let rows = null;
  let next;
  async function page() {
    let result;
    try {
      result = await load(next);
    } catch (e) {
      body.append(errorBox(e, `The ${title.toLowerCase()} could not be read`));
      more.hidden = true;
      return;
    }
    if (!rows) {
      if (!result.items.length) {
        replace(body, empty(emptyText));
      } else {
        const built = table(headings, []);
        rows = built.querySelector('tbody');
        replace(body, built);
      }
    }
    rows?.append(...result.items.map(row));
    next = result.next;
    more.hidden = !next;
  }
  more.onclick = () => busy(more, page);
  page();
  return panel;
}
