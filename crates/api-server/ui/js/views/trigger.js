// Triggering a hook: a payload form generated from its triggerSchema (or raw JSON), a preview of the task the
// fire would create (renderHook: nothing is created), then the fire itself.

import { getHook, renderHook, triggerHook } from '../api.js';
import { busy, errorBox, h, jsonBlock, notice, replace } from '../dom.js';
import { hasForm, schemaForm } from '../schema-form.js';
import { formOrRaw } from '../tabs.js';

/** The trigger page of `g/hk`. */
export async function triggerView(g, hk) {
  const link = `#/hooks/${encodeURIComponent(g)}/${encodeURIComponent(hk)}`;
  const heading = h('h1', {}, `Trigger ${g}/${hk}`);
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: link }, `${g}/${hk}`));
  let hook;
  try {
    hook = await getHook(g, hk);
  } catch (e) {
    return h('section', {}, crumbs, heading, errorBox(e, 'The hook could not be read'));
  }
  const form = schemaForm(hook.triggerSchema);
  const raw = h('textarea', { id: 'raw-payload', class: 'code', rows: 10, spellcheck: 'false', value: '{}' });
  const formPart = h('div', { id: 'payload-form' }, form.element);
  const rawPart = h('div', { id: 'payload-raw' }, h('label', { for: 'raw-payload' }, 'Payload (JSON)'), raw);
  const result = h('div', { id: 'trigger-result', 'aria-live': 'polite' });
  const tabs = formOrRaw({
    label: 'Payload as', formPart, rawPart, rawTabId: 'payload-raw-tab',
    startRaw: !hasForm(hook.triggerSchema),
    // The raw text is what gets sent, so going back to the form keeps the form's own values.
    toForm: () => true,
    toRaw() {
      try {
        raw.value = JSON.stringify(form.read() ?? {}, null, 2);
        return true;
      } catch (e) {
        replace(result, errorBox(e, 'Check the payload'));
        return false;
      }
    },
  });

  /** The payload as entered, or null (with the reason shown) when it can't be read. */
  function payload() {
    try {
      return tabs.isRaw() ? JSON.parse(raw.value || '{}') : (form.read() ?? {});
    } catch (e) {
      replace(result, errorBox(e, 'Check the payload'));
      return null;
    }
  }

  const preview = h('button', { type: 'button', class: 'secondary', id: 'preview' }, 'Preview task');
  preview.onclick = () => busy(preview, async () => {
    const value = payload();
    if (value === null) return;
    try {
      const { task } = await renderHook(g, hk, value);
      replace(result, h('section', { id: 'preview-result' },
        h('h2', {}, 'The task this fire would create'),
        task === null ? notice('The template declines this payload: no task would be created.') : jsonBlock(task)));
    } catch (e) {
      replace(result, errorBox(e, 'The preview failed'));
    }
  });
  const fire = h('button', { type: 'submit', id: 'fire' }, 'Trigger hook');
  const onsubmit = (event) => {
    event.preventDefault();
    const value = payload();
    if (value === null) return;
    busy(fire, async () => {
      try {
        const reply = await triggerHook(g, hk, value);
        const taskId = reply?.status?.taskId;
        replace(result, h('div', { class: 'alert ok', role: 'status', id: 'fired' },
          h('p', {}, taskId ? ['Fired: task ', h('code', { class: 'task-id' }, taskId), ' was created.']
            : 'Fired: the template declined this payload, so no task was created.'),
          h('p', {}, h('a', { href: link, id: 'back-to-hook' }, 'See it in the hook\'s history'))));
      } catch (e) {
        replace(result, errorBox(e, 'The hook did not fire'));
      }
    });
  };

  return h('section', {},
    crumbs, heading,
    h('p', { class: 'muted' }, hook.metadata.description),
    tabs.element,
    h('form', { onsubmit, id: 'trigger-form', novalidate: true }, formPart, rawPart,
      h('div', { class: 'actions' }, fire, preview)),
    result);
}
