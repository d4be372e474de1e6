// A hook's page: its definition, schedule and next slots, bindings, paused state, trigger token, webhook, last
// fires and fire log; and the ways to change it (edit, trigger, pause or resume, remove).

import * as api from '../api.js';
import { busy, confirmButton, empty, errorBox, h, jsonBlock, replace, table } from '../dom.js';
import { browserZone, timeElement } from '../time.js';
import { fireLogPanel, lastFiresPanel } from './fires.js';
import { webhookPanel } from './webhook.js';

const NEXT_SLOTS = 5;

/** The page of hook `g/hk`. */
export async function hookView(g, hk) {
  const link = `#/hooks/${encodeURIComponent(g)}/${encodeURIComponent(hk)}`;
  const crumbs = h('p', { class: 'crumbs' },
    h('a', { href: '#/' }, 'Hook groups'), ' / ', h('a', { href: `#/hooks/${encodeURIComponent(g)}` }, g));
  let hook;
  try {
    hook = await api.getHook(g, hk);
  } catch (e) {
    return h('section', {}, crumbs, h('h1', {}, hk), errorBox(e, 'The hook could not be read'));
  }
  const section = h('section', { id: 'hook-page' });
  // After pausing or resuming: the whole page anew (the state shows in several places), focus kept on the panel.
  const reload = async () => {
    const fresh = await hookView(g, hk);
    section.replaceWith(fresh);
    fresh.querySelector('#pause-title')?.focus();
  };
  replace(section,
    crumbs,
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', {}, hk, hook.paused ? [' ', h('span', { class: 'badge paused', id: 'paused-badge' }, 'paused')] : null),
        h('p', { class: 'muted' }, hook.metadata.name)),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: `${link}/trigger`, id: 'trigger-link' }, 'Trigger'),
        h('a', { class: 'button secondary', href: `${link}/edit`, id: 'edit-link' }, 'Edit'),
        removeControl(g, hk))),
    h('div', { class: 'grid' },
      definitionPanel(hook),
      schedulePanel(g, hk, hook),
      pausePanel(g, hk, hook, reload),
      bindingsPanel(hook),
      tokenPanel(g, hk),
      webhookPanel(g, hk),
      lastFiresPanel(g, hk),
      fireLogPanel(g, hk)));
  return section;
}

function panel(id, title, ...content) {
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: -1 }, title), content);
}

function definitionPanel(hook) {
  const { metadata, task } = hook;
  const fact = (name, value) => (value === undefined || value === '' ? null : [h('dt', {}, name), h('dd', {}, value)]);
  return panel('definition', 'Definition',
    h('dl', { class: 'facts' },
      fact('Name', metadata.name),
      fact('Description', metadata.description),
      fact('Owner', metadata.owner),
      fact('Emails on error', metadata.emailOnError ? 'yes' : 'no'),
      fact('Task queue', task && task.provisionerId && task.workerType
        ? h('code', {}, `${task.provisionerId}/${task.workerType}`) : undefined),
      fact('Task name', task?.metadata?.name)),
    h('details', {}, h('summary', {}, 'Task template'), jsonBlock(task)),
    h('details', {}, h('summary', {}, 'Trigger schema'), jsonBlock(hook.triggerSchema)),
    h('details', { id: 'raw-json' }, h('summary', {}, 'Raw JSON'), jsonBlock(hook)));
}

function schedulePanel(g, hk, hook) {
  const slots = h('div', {}, h('p', { class: 'muted' }, 'Loading the next slots…'));
  const patterns = hook.schedule || [];
  if (patterns.length) {
    api.schedule(g, hk, NEXT_SLOTS).then(
      ({ nextSlots }) => replace(slots, nextSlots.length
        ? [h('h3', {}, `Next slots (your time, ${browserZone()}; hover for UTC)`),
          h('ul', { class: 'plain', id: 'next-slots' }, nextSlots.map((slot) => h('li', {}, timeElement(slot))))]
        : empty('No upcoming slot.')),
      (e) => replace(slots, errorBox(e, 'The next slots could not be read')));
  }
  return panel('schedule', 'Schedule',
    patterns.length
      ? [h('dl', { class: 'facts' },
        h('dt', {}, 'Patterns'),
        h('dd', {}, h('ul', { class: 'plain' }, patterns.map((p) => h('li', {}, h('code', {}, p))))),
        h('dt', {}, 'Time zone'), h('dd', {}, hook.timeZone || 'UTC'),
        hook.catchUp ? [h('dt', {}, 'Catch-up'), h('dd', {}, h('code', {}, JSON.stringify(hook.catchUp)))] : null),
      slots]
      : empty('No schedule: this hook fires only when triggered or on a message.'));
}

function bindingsPanel(hook) {
  const bindings = hook.bindings || [];
  return panel('bindings', 'Pulse bindings', bindings.length
    ? table(['Exchange', 'Routing key pattern'],
      bindings.map((b) => h('tr', {},
        h('td', {}, h('code', {}, b.exchange)),
        h('td', {}, h('code', {}, b.routingKeyPattern)))))
    : empty('No bindings: no Pulse message fires this hook.'));
}

function pausePanel(g, hk, hook, reload) {
  const result = h('div', { 'aria-live': 'polite' });
  const act = (button, work) => busy(button, async () => {
    try {
      await work();
      await reload();
    } catch (e) {
      replace(result, errorBox(e));
    }
  });
  if (hook.paused) {
    const resume = h('button', { type: 'button', id: 'resume' }, 'Resume');
    resume.onclick = () => act(resume, () => api.resumeHook(g, hk));
    return panel('pause', 'Paused',
      h('dl', { class: 'facts' },
        h('dt', {}, 'Reason'), h('dd', { id: 'pause-reason' }, hook.paused.reason),
        h('dt', {}, 'By'), h('dd', {}, hook.paused.by),
        h('dt', {}, 'Since'), h('dd', {}, timeElement(hook.paused.since))),
      h('p', { class: 'muted' }, 'No slot fires and triggers are refused until it is resumed; Pulse messages wait.'),
      h('div', { class: 'actions' }, resume), result);
  }
  const reason = h('input', { type: 'text', id: 'pause-reason-input', required: true, maxlength: 1000 });
  const pause = h('button', { type: 'submit', class: 'secondary' }, 'Pause');
  const onsubmit = (event) => {
    event.preventDefault();
    act(pause, () => api.pauseHook(g, hk, reason.value));
  };
  return panel('pause', 'Running',
    h('p', { class: 'muted' }, 'The hook fires as defined. Pausing stops its slots and triggers until it is resumed.'),
    h('form', { onsubmit }, h('label', { for: 'pause-reason-input' }, 'Reason to pause'), reason,
      h('div', { class: 'actions' }, pause)),
    result);
}

function tokenPanel(g, hk) {
  const shown = h('div', { 'aria-live': 'polite' });
  const showToken = (token) => replace(shown,
    h('p', {}, 'Anyone holding this URL can fire the hook with a payload:'),
    h('pre', { id: 'trigger-url' }, `${location.origin}/api/hooks/v1/hooks/${encodeURIComponent(g)}/` +
      `${encodeURIComponent(hk)}/trigger/${token}`));
  const show = h('button', { type: 'button', class: 'secondary', id: 'show-token' }, 'Show token');
  show.onclick = () => busy(show, async () => {
    try {
      showToken((await api.getTriggerToken(g, hk)).token);
    } catch (e) {
      replace(shown, errorBox(e));
    }
  });
  const question = 'The old token stops working at once. Reset it?';
  const reset = confirmButton('reset-token', 'Reset token', question, async () => {
    try {
      showToken((await api.resetTriggerToken(g, hk)).token);
    } catch (e) {
      replace(shown, errorBox(e));
    }
  });
  return panel('token', 'Trigger token', h('div', { class: 'actions' }, show, reset), shown);
}

function removeControl(g, hk) {
  const question = `Remove ${g}/${hk}? Its definition, token and history go; this cannot be undone.`;
  return confirmButton('remove', 'Remove', question, async (result) => {
    try {
      await api.removeHook(g, hk);
      location.hash = `#/hooks/${encodeURIComponent(g)}`;
    } catch (e) {
      replace(result, errorBox(e, 'The hook was not removed'));
    }
  });
}
