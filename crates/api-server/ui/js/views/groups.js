// The hook groups and their hooks, with a filter box over group ids, hook ids and names.

import { listHookGroups, listHooks } from '../api.js';
import { empty, errorBox, h, replace } from '../dom.js';

/** Every group (or the one `group`), each with its hooks. */
export async function groupsView({ group }) {
  let groups;
  try {
    groups = group ? [group] : (await listHookGroups()).groups;
  } catch (e) {
    return page(group, errorBox(e, 'The hook groups could not be listed'));
  }
  const listed = await Promise.all(groups.sort().map(async (g) => {
    try {
      return { group: g, hooks: (await listHooks(g)).hooks };
    } catch (error) {
      // A group exists only while it has hooks: upstream answers 404 "No such group" for one that has none.
      return error.status === 404 ? { group: g, hooks: [] } : { group: g, error };
    }
  }));
  if (!listed.length) {
    return page(group, empty('There are no hooks yet.'), h('p', {}, h('a', { href: '#/new' }, 'Create the first one')));
  }
  const cards = listed.map(groupCard);
  const noMatch = empty('No hook matches the filter.');
  noMatch.hidden = true;
  const filter = h('input', {
    type: 'search', id: 'filter', placeholder: 'Filter by group, hook id or name', 'aria-label': 'Filter hooks',
    oninput: () => applyFilter(filter.value, cards, noMatch),
  });
  return page(group, h('div', { class: 'filter' }, filter), noMatch, h('div', { class: 'groups' }, cards));
}

function page(group, ...content) {
  return h('section', {},
    group ? h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'All groups')) : null,
    h('div', { class: 'page-head' },
      h('h1', {}, group ? `Hook group ${group}` : 'Hook groups'),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: group ? `#/new/${encodeURIComponent(group)}` : '#/new' }, 'New hook'))),
    content);
}

function groupCard({ group, hooks, error }) {
  const link = (h_) => `#/hooks/${encodeURIComponent(group)}/${encodeURIComponent(h_.hookId)}`;
  const items = (hooks || []).sort((a, b) => a.hookId.localeCompare(b.hookId)).map((hook) => {
    const item = h('li', { dataset: { search: `${group}/${hook.hookId} ${hook.metadata?.name || ''}`.toLowerCase() } },
      h('a', { href: link(hook), class: 'hook-link' }, hook.hookId),
      hook.metadata?.name && hook.metadata.name !== hook.hookId
        ? h('span', { class: 'muted' }, ` — ${hook.metadata.name}`)
        : null,
      hook.paused ? [' ', h('span', { class: 'badge paused' }, 'paused')] : null);
    return item;
  });
  const card = h('article', { class: 'panel group', dataset: { group: group.toLowerCase() } },
    h('h2', {}, h('a', { href: `#/hooks/${encodeURIComponent(group)}` }, group)),
    error ? errorBox(error, 'The hooks could not be listed') : null,
    items.length ? h('ul', { class: 'plain' }, items) : (error ? null : empty('No hooks in this group.')));
  card.items = items;
  return card;
}

function applyFilter(text, cards, noMatch) {
  const needle = text.trim().toLowerCase();
  let shown = 0;
  for (const card of cards) {
    const groupMatches = card.dataset.group.includes(needle);
    let visible = 0;
    for (const item of card.items) {
      item.hidden = !(groupMatches || item.dataset.search.includes(needle));
      if (!item.hidden) visible += 1;
    }
    card.hidden = Boolean(needle) && !groupMatches && visible === 0;
    if (!card.hidden) shown += 1;
  }
  noMatch.hidden = shown > 0;
}
