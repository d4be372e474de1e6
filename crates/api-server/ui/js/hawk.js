// Hawk request signing with Web Crypto, as Taskcluster's clients sign: the header MAC covers the time, a nonce,
// the method, path and query, host, port, the payload hash and `ext` (which carries a temporary credential's
// certificate). Web Crypto exists only in secure contexts (https, or http on localhost).

const encoder = new TextEncoder();

function base64(bytes) {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

async function sha256(text) {
  return base64(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

async function hmacSha256(key, text) {
  const imported = await crypto.subtle.importKey(
    'raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64(await crypto.subtle.sign('HMAC', imported, encoder.encode(text)));
}

function nonce() {
  return base64(crypto.getRandomValues(new Uint8Array(9))).replace(/[+/=]/g, '');
}

/** Whether this page can sign requests at all. */
export function canSign() {
  return Boolean(globalThis.crypto && crypto.subtle);
}

/**
 * The `Authorization` header for a request to `url` (relative to this page) with `credentials`
 * (`{clientId, accessToken, certificate?}`, the certificate as an object) and, when it has one, a `body` text.
 */
export async function authorization(credentials, { method, url, contentType, body }) {
  const target = new URL(url, location.href);
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  const ts = Math.floor(Date.now() / 1000);
  const once = nonce();
  const hash = body === undefined ? '' : await sha256(`hawk.1.payload\n${contentType}\n${body}\n`);
  const ext = credentials.certificate
    ? base64(encoder.encode(JSON.stringify({ certificate: credentials.certificate })))
    : '';
  const resource = target.pathname + target.search;
  const normalized =
    `hawk.1.header\n${ts}\n${once}\n${method}\n${resource}\n${target.hostname}\n${port}\n${hash}\n${ext}\n`;
  const mac = await hmacSha256(credentials.accessToken, normalized);
  let header = `Hawk id="${credentials.clientId}", ts="${ts}", nonce="${once}"`;
  if (hash) header += `, hash="${hash}"`;
  if (ext) header += `, ext="${ext}"`;
  return `${header}, mac="${mac}"`;
}
