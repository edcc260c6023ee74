// The REST API, authenticated by the HttpOnly session cookie the server set
// at sign-in. Every failure becomes an ApiError with the server's message.

export class ApiError extends Error {
  constructor(status, message, secondFactor) {
    super(message);
    this.status = status;
    // POST /login: the second factors the account asks for, e.g. ['totp'].
    this.secondFactor = secondFactor ?? null;
  }
}

async function call(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
  }
  return answer(res);
}

/** A response's data, or its failure as an ApiError. */
async function answer(res) {
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    let message = data?.error ?? `The server answered ${res.status}.`;
    if (res.status === 429) {
      const wait = res.headers.get('Retry-After');
      message = `Too many failed sign-ins. Try again in ${wait ?? 'a few'} seconds.`;
    }
    throw new ApiError(res.status, message, data?.second_factor);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  // The first call takes the response boot.js asked for while the page
  // loaded, if it got one.
  me: async () => {
    const pending = window.meshdeskMe;
    delete window.meshdeskMe;
    const early = await pending;
    return early ? answer(early) : call('GET', '/me');
  },
  signUp: (username, password) => call('POST', '/accounts', { username, password }),
  signIn: (username, password, factor = {}) => call('POST', '/login', { username, password, ...factor }),
  factors: () => call('GET', '/account/factors'),
  startTotp: () => call('POST', '/account/totp'),
  confirmTotp: (code) => call('POST', '/account/totp/confirm', { code }),
  disableTotp: (code) => call('DELETE', '/account/totp', { code }),
  newRecoveryCodes: (code) => call('POST', '/account/totp/recovery-codes', { code }),
  passkeyRegisterStart: () => call('POST', '/account/webauthn/register/start'),
  passkeyRegisterFinish: (name, credential) => call('POST', '/account/webauthn/register/finish', { name, credential }),
  removePasskey: (id) => call('DELETE', `/account/webauthn/credentials/${enc(id)}`),
  passkeyLoginStart: (username, password) => call('POST', '/account/webauthn/login/start', { username, password }),
  signOut: () => call('POST', '/logout'),
  devices: () => call('GET', '/devices'),
  device: (id) => call('GET', `/devices/${enc(id)}`),
  rename: (id, name) => call('PATCH', `/devices/${enc(id)}`, { name }),
  updateDevice: (id, body) => call('PATCH', `/devices/${enc(id)}`, body),
  remove: (id) => call('DELETE', `/devices/${enc(id)}`),
  shares: (id) => call('GET', `/devices/${enc(id)}/shares`),
  share: (id, username, permission, expiresAt) => call('POST', `/devices/${enc(id)}/shares`,
    expiresAt ? { username, permission, expires_at: expiresAt } : { username, permission }),
  revoke: (id, username) => call('DELETE', `/devices/${enc(id)}/shares/${enc(username)}`),
  enrollmentCode: () => call('POST', '/enrollment-codes'),
  events: (before) => call('GET', `/events?limit=50${before ? `&before=${before}` : ''}`),
  tokens: () => call('GET', '/tokens'),
  createToken: (body) => call('POST', '/tokens', body),
  revokeToken: (id) => call('DELETE', `/tokens/${enc(id)}`),
  webhooks: () => call('GET', '/webhooks'),
  addWebhook: (url, kinds, devices) => call('POST', '/webhooks', { url, kinds, devices }),
  removeWebhook: (id) => call('DELETE', `/webhooks/${enc(id)}`),
  enableWebhook: (id, enabled) => call('PATCH', `/webhooks/${enc(id)}`, { enabled }),
  deliveries: (id) => call('GET', `/webhooks/${enc(id)}/deliveries`),
  resend: (id, deliveryId) => call('POST', `/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/resend`),
};
