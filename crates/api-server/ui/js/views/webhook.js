// A hook's webhook (a GitHub, GitLab or standard sender posting to a URL of its own): shown, configured, its
// secret revealed on request, removed. Until the server has webhooks every read is a 404: "no webhook".

import { deleteWebhook, getWebhook, putWebhook, webhookSecret } from '../api.js';
import { busy, confirmButton, empty, errorBox, h, replace } from '../dom.js';

const KINDS = ['github', 'gitlab', 'standard'];

/** The webhook panel of `g/h`. */
export function webhookPanel(g, hk) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const panel = h('section', { class: 'panel', id: 'webhook', 'aria-labelledby': 'webhook-title' },
    h('h2', { id: 'webhook-title' }, 'Webhook'), body);

  async function show() {
    let webhook;
    try {
      webhook = await getWebhook(g, hk);
    } catch (e) {
      replace(body, errorBox(e, 'The webhook could not be read'));
      return;
    }
    replace(body, webhook ? configured(webhook) : [empty('No webhook configured.'), form(null)]);
  }

  function configured(webhook) {
    const secret = h('div', { id: 'webhook-secret-shown' });
    const reveal = h('button', { type: 'button', class: 'secondary', id: 'show-webhook-secret' }, 'Show secret');
    reveal.onclick = () => busy(reveal, async () => {
      try {
        replace(secret, h('pre', {}, (await webhookSecret(g, hk)).secret));
      } catch (e) {
        replace(secret, errorBox(e));
      }
    });
    const question = 'The sender\'s deliveries will be refused from now on. Remove the webhook?';
    const remove = confirmButton('remove-webhook', 'Remove webhook', question, async (result) => {
      try {
        await deleteWebhook(g, hk);
        await show();
      } catch (e) {
        replace(result, errorBox(e));
      }
    });
    return [
      h('dl', { class: 'facts' },
        h('dt', {}, 'Kind'), h('dd', {}, webhook.kind),
        h('dt', {}, 'Events'), h('dd', {}, (webhook.events || []).join(', ') || 'all'),
        h('dt', {}, 'URL'), h('dd', {}, h('code', {}, webhook.url))),
      h('div', { class: 'actions more' }, reveal, remove),
      secret,
      h('details', {}, h('summary', {}, 'Change'), form(webhook)),
    ];
  }

  function form(webhook) {
    const kind = h('select', { id: 'webhook-kind' },
      KINDS.map((k) => h('option', { value: k, selected: webhook?.kind === k }, k)));
    const events = h('input', { type: 'text', id: 'webhook-events', value: (webhook?.events || []).join(', '),
      placeholder: 'push, pull_request' });
    const secret = h('input', { type: 'password', id: 'webhook-secret', autocomplete: 'new-password' });
    const result = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit' }, webhook ? 'Save webhook' : 'Configure webhook');
    const onsubmit = (event) => {
      event.preventDefault();
      const wanted = { kind: kind.value };
      const names = events.value.split(',').map((e) => e.trim()).filter(Boolean);
      if (names.length) wanted.events = names;
      if (secret.value) wanted.secret = secret.value;
      busy(save, async () => {
        try {
          const reply = await putWebhook(g, hk, wanted);
          await show();
          body.append(h('div', { class: 'alert ok', role: 'status', id: 'webhook-saved' },
            h('p', {}, 'Saved. Give the sender this URL and secret (the secret stays readable with the right scope):'),
            h('pre', {}, `${reply.url}\n${reply.secret}`)));
        } catch (e) {
          replace(result, errorBox(e, 'The webhook was not saved'));
        }
      });
    };
    return h('form', { onsubmit },
      h('label', { for: 'webhook-kind' }, 'Sender'), kind,
      h('label', { for: 'webhook-events' }, 'Events ', h('span', { class: 'hint' }, '(comma-separated; empty: all)')),
      events,
      h('label', { for: 'webhook-secret' }, 'Secret ', h('span', { class: 'hint' }, '(empty: generated)')), secret,
      h('div', { class: 'actions' }, save), result);
  }

  show();
  return panel;
}
