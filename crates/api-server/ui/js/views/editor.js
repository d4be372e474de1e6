// Creating and editing a hook: a form over the definition's fields (metadata, schedule, time zone, task template,
// trigger schema, bindings), or the whole definition as raw JSON. The API validates; each error it names a field
// of is shown at that field.

import { createHook, getHook, updateHook } from '../api.js';
import { busy, errorBox, h, replace } from '../dom.js';
import { field, fieldFor, jsonField } from '../json-editor.js';
import { formOrRaw } from '../tabs.js';

/** What a new hook starts from: the smallest definition that creates a task, to be edited. */
const NEW_HOOK = {
  metadata: { name: '', description: '', owner: '', emailOnError: true },
  schedule: [],
  task: {
    provisionerId: 'proj-example',
    workerType: 'ci',
    payload: { firedBy: '${firedBy}' },
    metadata: { name: 'a task', description: 'created by a hook', owner: 'someone@example.com',
      source: 'https://example.com' },
  },
  triggerSchema: { type: 'object', properties: {}, additionalProperties: true },
  bindings: [],
};

/** The form for a new hook (in `group` when given), or for editing `group/hook`. */
export async function editorView({ group, hook }) {
  const editing = Boolean(hook);
  let base = NEW_HOOK;
  if (editing) {
    try {
      const { hookGroupId, hookId, paused, ...definition } = await getHook(group, hook);
      base = definition;
    } catch (e) {
      return h('section', {}, h('h1', {}, `Edit ${group}/${hook}`), errorBox(e, 'The hook could not be read'));
    }
  }

  const input = (id, attributes = {}) => h('input', { type: 'text', id, spellcheck: 'false', ...attributes });
  const ids = editing ? [] : [
    field('hookGroupId', 'Hook group', input('hook-group-id', { required: true, value: group || '' })),
    field('hookId', 'Hook id', input('hook-id', { required: true })),
  ];
  const name = field('metadata.name', 'Name', input('name', { required: true }));
  const description = field('metadata.description', 'Description', h('textarea', { id: 'description', rows: 3 }));
  const owner = field('metadata.owner', 'Owner', input('owner', { required: true }), '(an e-mail address)');
  const emailOnError = field('metadata.emailOnError', 'E-mail the owner when a fire fails',
    h('input', { type: 'checkbox', id: 'email-on-error' }));
  const schedule = field('schedule', 'Schedule', h('textarea', { id: 'schedule', class: 'code short', rows: 3 }),
    '(one cron pattern a line, seconds first: 0 0 9 * * 1-5)');
  const timeZone = field('timeZone', 'Time zone', input('time-zone', { placeholder: 'UTC' }),
    '(an IANA name such as Europe/Berlin; empty: UTC)');
  const task = jsonField('task', 'Task template', 'task', '(JSON-e)', {});
  const triggerSchema = jsonField('triggerSchema', 'Trigger schema', 'trigger-schema', '(JSON schema of the payload)',
    { type: 'object' });
  const bindings = jsonField('bindings', 'Pulse bindings', 'bindings',
    '([{"exchange": ..., "routingKeyPattern": ...}])', []);
  const fields = [...ids, name, description, owner, emailOnError, schedule, timeZone, task, triggerSchema, bindings];

  function fill(definition) {
    name.control.value = definition.metadata?.name || '';
    description.control.value = definition.metadata?.description || '';
    owner.control.value = definition.metadata?.owner || '';
    emailOnError.control.checked = Boolean(definition.metadata?.emailOnError);
    schedule.control.value = (definition.schedule || []).join('\n');
    timeZone.control.value = definition.timeZone || '';
    task.write(definition.task);
    triggerSchema.write(definition.triggerSchema);
    bindings.write(definition.bindings);
  }

  /** The definition the form says, keeping what it has no field for (catchUp, ...); throws on bad JSON. */
  function fromForm() {
    const definition = {
      ...base,
      metadata: { ...base.metadata, name: name.control.value, description: description.control.value,
        owner: owner.control.value.trim(), emailOnError: emailOnError.control.checked },
      schedule: schedule.control.value.split('\n').map((line) => line.trim()).filter(Boolean),
      task: task.read(),
      triggerSchema: triggerSchema.read(),
      bindings: bindings.read(),
    };
    if (timeZone.control.value.trim()) definition.timeZone = timeZone.control.value.trim();
    else delete definition.timeZone;
    return definition;
  }

  const raw = jsonField('', 'The whole definition', 'raw-definition', '(as createHook and updateHook take it)', {});
  const formPart = h('div', { id: 'form-fields' }, fields.map((f) => f.element));
  const rawPart = h('div', { id: 'raw-fields' }, raw.element);
  const tabs = formOrRaw({
    label: 'Edit as', formPart, rawPart, rawTabId: 'raw-tab',
    // A field that isn't JSON says so itself and keeps the page where it is.
    toForm() {
      try {
        base = raw.read();
      } catch {
        return false;
      }
      fill(base);
      return true;
    },
    toRaw() {
      try {
        raw.write(fromForm());
      } catch {
        return false;
      }
      return true;
    },
  });
  const rawMode = tabs.isRaw;

  const result = h('div', { id: 'editor-result', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', id: 'save' }, editing ? 'Save changes' : 'Create hook');
  async function onsubmit(event) {
    event.preventDefault();
    for (const f of [...fields, raw]) f.setError(null);
    replace(result);
    let definition;
    try {
      definition = rawMode() ? raw.read() : fromForm();
    } catch {
      return;
    }
    const g = editing ? group : ids[0].control.value.trim();
    const hk = editing ? hook : ids[1].control.value.trim();
    // Without both ids the URL would name another endpoint: say so here rather than send it.
    const missing = ids.filter((f) => !f.control.value.trim());
    if (missing.length) {
      missing.forEach((f) => f.setError('Required.'));
      missing[0].control.focus();
      return;
    }
    await busy(save, async () => {
      try {
        await (editing ? updateHook(g, hk, definition) : createHook(g, hk, definition));
        location.hash = `#/hooks/${encodeURIComponent(g)}/${encodeURIComponent(hk)}`;
      } catch (e) {
        showErrors(e);
      }
    });
  }

  /** The API's error at the top, and each field it names at that field (or, in raw mode, at the raw text). */
  function showErrors(error) {
    replace(result, errorBox(error, editing ? 'The hook was not saved' : 'The hook was not created'));
    const byField = new Map();
    for (const { path, problem } of error.fields) {
      const found = rawMode() ? { field: raw, rest: path } : fieldFor(fields, path);
      if (!found) continue;
      const where = found.rest.length ? `${found.rest.join('/')}: ` : '';
      const lines = byField.get(found.field) || [];
      byField.set(found.field, [...lines, `${where}${problem}`]);
    }
    for (const [f, lines] of byField) f.setError(lines.join('\n'));
    const first = byField.keys().next().value;
    (first ? first.control : save).focus();
  }

  fill(base);
  const back = editing ? `#/hooks/${encodeURIComponent(group)}/${encodeURIComponent(hook)}` : '#/';
  return h('section', {},
    h('p', { class: 'crumbs' }, h('a', { href: back }, editing ? `${group}/${hook}` : 'Hook groups')),
    h('h1', {}, editing ? `Edit ${group}/${hook}` : 'New hook'),
    tabs.element,
    h('form', { onsubmit, id: 'hook-form', novalidate: true }, formPart, rawPart,
      h('div', { class: 'actions' }, save, h('a', { class: 'button secondary', href: back }, 'Cancel'))),
    result);
}
