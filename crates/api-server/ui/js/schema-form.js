// A form generated from a JSON schema (a hook's triggerSchema): text, number and check boxes, selects for enums,
// lists for arrays, fieldsets for nested objects, and a JSON text box for whatever a form can't express
// (oneOf, $ref, tuples, several types, unbounded nesting).

import { h } from './dom.js';

const MAX_DEPTH = 6;

/** `{element, read()}` for `schema`; read() gives the value (undefined for an optional field left empty). */
export function schemaForm(schema, id = 'payload') {
  return control(schema, id, null, true, 0);
}

/** Whether the form can say more than a JSON box would: an object schema with properties. */
export function hasForm(schema) {
  return Boolean(schema && schema.type === 'object' && schema.properties && Object.keys(schema.properties).length);
}

function control(schema, id, label, required, depth) {
  if (!schema || typeof schema !== 'object' || depth > MAX_DEPTH) return jsonControl(schema, id, label, required);
  if (Array.isArray(schema.enum)) return enumControl(schema, id, label, required);
  switch (schema.type) {
    case 'string': return inputControl(schema, id, label, required, 'text', (v) => v);
    case 'number': return inputControl(schema, id, label, required, 'number', Number);
    case 'integer': return inputControl(schema, id, label, required, 'number', Number);
    case 'boolean': return booleanControl(schema, id, label);
    case 'object': return schema.properties
      ? objectControl(schema, id, label, required, depth)
      : jsonControl(schema, id, label, required);
    case 'array': return schema.items && !Array.isArray(schema.items) && typeof schema.items === 'object'
      ? arrayControl(schema, id, label, required, depth)
      : jsonControl(schema, id, label, required);
    default: return jsonControl(schema, id, label, required);
  }
}

function labelFor(id, label, schema, required) {
  if (label === null) return null;
  return h('label', { for: id }, label, required ? ' *' : '',
    schema?.description ? [' ', h('span', { class: 'hint' }, `(${schema.description})`)] : null);
}

function inputControl(schema, id, label, required, type, convert) {
  const input = h('input', { type, id, name: id, required, value: schema.default ?? '',
    step: schema.type === 'integer' ? '1' : (type === 'number' ? 'any' : null),
    min: schema.minimum, max: schema.maximum, placeholder: schema.format || null });
  return {
    element: h('div', { class: 'field' }, labelFor(id, label, schema, required), input),
    read: () => (input.value === '' && !(required && type === 'text') ? undefined : convert(input.value)),
  };
}

function booleanControl(schema, id, label) {
  const box = h('input', { type: 'checkbox', id, name: id, checked: Boolean(schema.default) });
  return {
    element: h('label', { class: 'inline', for: id }, box, label ?? 'yes',
      schema.description ? [' ', h('span', { class: 'hint' }, `(${schema.description})`)] : null),
    read: () => box.checked,
  };
}

function enumControl(schema, id, label, required) {
  const select = h('select', { id, name: id, required },
    required ? null : h('option', { value: '' }, '—'),
    schema.enum.map((value, index) => h('option', { value: String(index), selected: schema.default === value },
      typeof value === 'string' ? value : JSON.stringify(value))));
  return {
    element: h('div', { class: 'field' }, labelFor(id, label, schema, required), select),
    read: () => (select.value === '' ? undefined : schema.enum[Number(select.value)]),
  };
}

function objectControl(schema, id, label, required, depth) {
  const needed = new Set(schema.required || []);
  const children = Object.entries(schema.properties).map(([key, property]) =>
    [key, control(property, `${id}.${key}`, key, needed.has(key), depth + 1)]);
  const inner = children.map(([, child]) => child.element);
  const element = label === null
    ? h('div', { class: 'schema-form' }, inner)
    : h('fieldset', { id }, h('legend', {}, label, required ? ' *' : ''), inner);
  return {
    element,
    read() {
      const value = {};
      for (const [key, child] of children) {
        const v = child.read();
        if (v !== undefined) value[key] = v;
      }
      return Object.keys(value).length || required ? value : undefined;
    },
  };
}

function arrayControl(schema, id, label, required, depth) {
  const list = h('div', { class: 'array-items' });
  const items = [];
  let next = 0;
  const add = () => {
    const itemId = `${id}.${next++}`;
    const child = control(schema.items, itemId, `item ${items.length + 1}`, true, depth + 1);
    const row = h('div', { class: 'array-item' }, child.element);
    const entry = { child, row };
    row.append(h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${itemId}`,
      onclick: () => { items.splice(items.indexOf(entry), 1); row.remove(); } }, 'Remove'));
    items.push(entry);
    list.append(row);
    row.querySelector('input, select, textarea')?.focus();
  };
  const addButton = h('button', { type: 'button', class: 'secondary', id: `${id}-add` }, 'Add item');
  addButton.onclick = add;
  return {
    element: h('fieldset', { id }, h('legend', {}, label ?? 'items', required ? ' *' : ''), list, addButton),
    read() {
      const value = items.map(({ child }) => child.read()).filter((v) => v !== undefined);
      return value.length || required ? value : undefined;
    },
  };
}

function jsonControl(schema, id, label, required) {
  const area = h('textarea', { id, name: id, class: 'code short', rows: 3, spellcheck: 'false',
    value: schema?.default === undefined ? '' : JSON.stringify(schema.default, null, 2) });
  return {
    element: h('div', { class: 'field' }, labelFor(id, `${label ?? 'Payload'} (JSON)`, schema, required), area),
    read() {
      if (!area.value.trim()) return undefined;
      try {
        return JSON.parse(area.value);
      } catch (e) {
        area.focus();
        throw new Error(`${label ?? 'The payload'} is not JSON: ${e.message}`);
      }
    },
  };
}
