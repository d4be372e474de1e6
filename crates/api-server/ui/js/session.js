// The signed-in client's credentials, kept in this tab's session storage only: they go when the tab closes and
// are never sent anywhere but in the Hawk MAC of a request to this server.

const KEY = 'hooks-ui-credentials';

/** The credentials (`{clientId, accessToken, certificate?}`), or null when signed out. */
export function credentials() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return stored && stored.clientId && stored.accessToken ? stored : null;
  } catch {
    return null;
  }
}

/** Keeps `value` for this tab. */
export function signIn(value) {
  sessionStorage.setItem(KEY, JSON.stringify(value));
}

/** Forgets the credentials. */
export function signOut() {
  sessionStorage.removeItem(KEY);
}
