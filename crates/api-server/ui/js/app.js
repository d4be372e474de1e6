// The page's entry point: a router over `location.hash` (so every view has a link, and the server serves one page)
// that shows the sign-in form until there are credentials.

import { h, replace } from './dom.js';
import { credentials, signOut } from './session.js';
import { signInView } from './views/signin.js';
import { groupsView } from './views/groups.js';
import { hookView } from './views/hook.js';
import { editorView } from './views/editor.js';
import { triggerView } from './views/trigger.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

/** `[pattern, view]`: the first pattern matching the hash (without `#`) picks the view; groups are URL-decoded. */
const ROUTES = [
  [/^\/?$/, () => groupsView({})],
  [/^\/hooks\/([^/]+)$/, (g) => groupsView({ group: g })],
  [/^\/new(?:\/([^/]+))?$/, (g) => editorView({ group: g })],
  [/^\/hooks\/([^/]+)\/([^/]+)$/, (g, h) => hookView(g, h)],
  [/^\/hooks\/([^/]+)\/([^/]+)\/edit$/, (g, h) => editorView({ group: g, hook: h })],
  [/^\/hooks\/([^/]+)\/([^/]+)\/trigger$/, (g, h) => triggerView(g, h)],
];

function renderNav() {
  const signedIn = credentials();
  replace(nav, signedIn
    ? [
      h('a', { href: '#/' }, 'Hook groups'),
      h('a', { href: '#/new' }, 'New hook'),
      h('span', { class: 'who', title: 'signed in as' }, signedIn.clientId),
      h('button', { type: 'button', onclick: () => { signOut(); route(); } }, 'Sign out'),
    ]
    : []);
}

let current = 0;

/** Shows the view the hash names. */
async function route() {
  renderNav();
  const ticket = ++current;
  const path = location.hash.replace(/^#/, '');
  let view;
  if (!credentials()) {
    view = signInView({ onSignedIn: route });
  } else {
    const found = ROUTES.map(([pattern, make]) => [pattern.exec(path), make]).find(([match]) => match);
    view = found
      ? found[1](...found[0].slice(1).map((part) => part && decodeURIComponent(part)))
      : h('section', {}, h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '#/' }, 'Back to the hook groups')));
  }
  const element = await view;
  // A later navigation wins over a slower earlier one.
  if (ticket !== current) return;
  replace(main, element);
  document.title = `${main.querySelector('h1')?.textContent || 'Hooks'} · Hooks`;
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// The page must never need what its Content-Security-Policy refuses: count refusals where a test (or a person
// with the inspector) sees them.
document.addEventListener('securitypolicyviolation', (event) => {
  const root = document.documentElement;
  root.dataset.cspViolations = String(Number(root.dataset.cspViolations || 0) + 1);
  console.error(`Content-Security-Policy refused ${event.blockedURI || 'inline code'} (${event.violatedDirective})`);
});

window.addEventListener('hashchange', route);
route();
