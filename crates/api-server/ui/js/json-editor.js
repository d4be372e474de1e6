// Labelled form fields that can show the API's error for the field they edit, and a JSON text field that
// parses what was typed.

import { h, replace } from './dom.js';

/**
 * A labelled `control` with a hint and a place for its error; `key` names the definition field it edits
 * (`metadata.owner`), which is how the API's errors find it.
 */
export function field(key, label, control, hint) {
  const error = h('p', { class: 'field-error', id: `${control.id}-error`, dataset: { errorFor: key }, hidden: true });
  control.setAttribute('aria-describedby', error.id);
  const labelled = control.type === 'checkbox'
    ? h('label', { class: 'inline', for: control.id }, control, label)
    : [h('label', { for: control.id }, label, hint ? [' ', h('span', { class: 'hint' }, hint)] : null), control];
  return {
    key,
    control,
    element: h('div', { class: 'field' }, labelled, error),
    /** Shows `text` at the field (or clears it when null). */
    setError(text) {
      error.hidden = !text;
      replace(error, text || '');
      control.setAttribute('aria-invalid', text ? 'true' : 'false');
    },
  };
}

/** A textarea holding JSON: `read()` parses it (an empty one is `fallback`) or shows why not and throws. */
export function jsonField(key, label, id, hint, fallback) {
  const area = h('textarea', { id, class: 'code', spellcheck: 'false', rows: 10 });
  const wrapped = field(key, label, area, hint);
  return Object.assign(wrapped, {
    write(value) {
      area.value = value === undefined ? '' : JSON.stringify(value, null, 2);
    },
    read() {
      if (!area.value.trim()) return fallback;
      try {
        return JSON.parse(area.value);
      } catch (e) {
        wrapped.setError(`This is not JSON: ${e.message}`);
        area.focus();
        throw e;
      }
    },
  });
}

/** The field of `fields` that an error at `path` (`['metadata', 'owner']`) belongs to, and the rest of the path. */
export function fieldFor(fields, path) {
  for (let i = path.length; i > 0; i -= 1) {
    const key = path.slice(0, i).join('.');
    const found = fields.find((f) => f.key === key);
    if (found) return { field: found, rest: path.slice(i) };
  }
  return null;
}
