// The switch between a form and the raw JSON it stands for, as the editor and the trigger page both offer it.

import { h } from './dom.js';

/**
 * Two buttons showing `formPart` or `rawPart`. Before switching, `toForm()` or `toRaw()` carries the value across
 * and returns false when it can't (the part stays, with the reason shown by the callback).
 */
export function formOrRaw({ label, formPart, rawPart, rawTabId, startRaw = false, toForm, toRaw }) {
  const formTab = h('button', { type: 'button' }, 'Form');
  const rawTab = h('button', { type: 'button', id: rawTabId }, 'Raw JSON');
  const isRaw = () => !rawPart.hidden;
  const show = (raw) => {
    rawPart.hidden = !raw;
    formPart.hidden = raw;
    formTab.setAttribute('aria-pressed', String(!raw));
    rawTab.setAttribute('aria-pressed', String(raw));
  };
  formTab.onclick = () => {
    if (isRaw() && toForm()) show(false);
  };
  rawTab.onclick = () => {
    if (!isRaw() && toRaw()) show(true);
  };
  show(startRaw);
  return { element: h('div', { class: 'tabs', role: 'group', 'aria-label': label }, formTab, rawTab), isRaw };
}
