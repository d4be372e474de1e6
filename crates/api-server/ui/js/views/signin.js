// Sign-in: a clientId and accessToken (and, for temporary credentials, their certificate), checked by calling
// the API with them before they are kept.

import { listHookGroups } from '../api.js';
import { busy, errorBox, h, notice, replace } from '../dom.js';
import { canSign } from '../hawk.js';
import { signIn, signOut } from '../session.js';

/** The sign-in form; `onSignedIn` runs once the API has accepted the credentials. */
export function signInView({ onSignedIn }) {
  const clientId = h('input', { type: 'text', id: 'client-id', name: 'clientId', required: true,
    autocomplete: 'username', spellcheck: 'false' });
  const accessToken = h('input', { type: 'password', id: 'access-token', name: 'accessToken', required: true,
    autocomplete: 'current-password' });
  const certificate = h('textarea', { id: 'certificate', name: 'certificate', class: 'code', rows: 4,
    spellcheck: 'false', placeholder: '{"version": 1, "scopes": [...], ...}' });
  const result = h('div', { id: 'signin-result', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'sign-in' }, 'Sign in');

  async function onsubmit(event) {
    event.preventDefault();
    replace(result);
    let cert;
    try {
      cert = certificate.value.trim() ? JSON.parse(certificate.value) : undefined;
      if (cert !== undefined && typeof cert === 'string') cert = JSON.parse(cert);
    } catch (e) {
      replace(result, errorBox({ message: `The certificate is not JSON: ${e.message}` }, 'Check the certificate'));
      return;
    }
    signIn({ clientId: clientId.value.trim(), accessToken: accessToken.value.trim(), certificate: cert });
    await busy(submit, async () => {
      try {
        await listHookGroups();
      } catch (e) {
        // A 403 means the credentials are good but may not list hooks: the user can still open a hook by link.
        if (e.status !== 403) {
          signOut();
          replace(result, errorBox(e, 'Signing in failed'));
          // Hawk signs the time: a clock more than a few minutes off fails every request.
          if (/stale timestamp/i.test(e.message)) result.append(notice('Check that this computer\'s clock is right.'));
          return;
        }
      }
      onSignedIn();
    });
  }

  return h('section', { class: 'form-narrow' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' },
      'Your Taskcluster credentials sign each request in this browser; they are kept in this tab only ',
      '(session storage) and never sent in the clear.'),
    canSign() ? null : errorBox({ message: 'This browser cannot sign requests here: Web Crypto needs https ' +
      '(or http on localhost).' }, 'Signing is unavailable'),
    h('form', { onsubmit, id: 'signin-form' },
      h('label', { for: 'client-id' }, 'Client ID'), clientId,
      h('label', { for: 'access-token' }, 'Access token'), accessToken,
      h('details', {},
        h('summary', {}, 'Temporary credentials'),
        h('label', { for: 'certificate' }, 'Certificate ', h('span', { class: 'hint' }, '(JSON, as issued)')),
        certificate),
      h('div', { class: 'actions' }, submit)),
    result);
}
