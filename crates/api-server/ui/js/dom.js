// A few helpers to build the page from elements (never from HTML strings, so nothing the API returns can become
// markup) and to show the common states: loading, empty, failed.

/**
 * An element: `h('a', {href: '#/', class: 'x', onclick: fn, dataset: {...}}, 'text', child, [more])`.
 * Attributes that are properties of the element (`onclick`, `value`, `checked`, `disabled`, `hidden`) are set as
 * properties; null and false attributes are left out.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on') || name in PROPERTIES) element[name] = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

const PROPERTIES = { value: 1, checked: 1, disabled: 1, hidden: 1, textContent: 1 };

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces `element`'s children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Pretty JSON in a `<pre>`. */
export function jsonBlock(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

/** What an empty list says. */
export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/**
 * A failed call, readably: a title from its status, then its message as the API wrote it, text as paragraphs and
 * fenced blocks (for a 403, the missing scopes and the expression the call requires) as code.
 */
export function errorBox(error, title = 'That did not work') {
  const parts = String(error.message || '').split(/```\n([\s\S]*?)\n```/);
  const body = parts.map((part, index) => (index % 2
    ? h('pre', { class: error.status === 403 ? 'scopes' : null }, part)
    : part.split(/\n{2,}/).map((text) => text.trim()).filter(Boolean).map((text) => h('p', {}, text))));
  const box = h('div', { class: 'alert', role: 'alert' },
    h('p', {}, h('strong', {}, titleOf(error, title))),
    body,
    error.code ? h('p', { class: 'muted' }, `${error.code}${error.status ? ` (HTTP ${error.status})` : ''}`) : null);
  box.dataset.code = error.code || '';
  return box;
}

function titleOf(error, fallback) {
  if (error.status === 401) return 'Your credentials were refused';
  if (error.status === 403) return 'Your client lacks a scope for this';
  if (error.status === 404) return 'Not found';
  if (error.status === 0) return 'No connection';
  return fallback;
}

/** A short note, e.g. after something was saved. */
export function notice(text, kind = 'info') {
  return h('div', { class: `alert ${kind}`, role: 'status' }, h('p', {}, text));
}

/** Runs `work` with `button` disabled (so a click can't send a request twice). */
export async function busy(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

/** A table with a header row, inside a wrapper that scrolls sideways on narrow screens. */
export function table(headings, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, headings.map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, rows)));
}

/** A badge whose class names its value (`state-completed`), coloured by the stylesheet. */
export function badge(prefix, value) {
  return h('span', { class: `badge ${prefix}-${value}` }, value);
}

/**
 * A button (`id`) that asks before it acts: the question, then "Yes" (`<id>-yes`, running `work(resultElement)`)
 * or "Cancel".
 */
export function confirmButton(id, label, question, work) {
  const wrapper = h('div', { class: 'confirm' });
  const result = h('div', { 'aria-live': 'polite' });
  const start = h('button', { type: 'button', class: 'danger', id }, label);
  const yes = h('button', { type: 'button', class: 'danger', id: `${id}-yes` }, `Yes, ${label.toLowerCase()}`);
  const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const ask = h('div', { class: 'alert', role: 'alertdialog', hidden: true, 'aria-label': question },
    h('p', {}, question), h('div', { class: 'actions' }, yes, no));
  start.onclick = () => {
    ask.hidden = false;
    no.focus();
  };
  no.onclick = () => {
    ask.hidden = true;
    start.focus();
  };
  yes.onclick = () => busy(yes, async () => {
    await work(result);
    ask.hidden = true;
  });
  wrapper.append(start, ask, result);
  return wrapper;
}
