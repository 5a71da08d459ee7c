// The page's only way to the server: the public API, with the token as a bearer header.
// The token lives in sessionStorage (gone when the tab closes) and never in a URL.
// A person signed in through SSO has no token: the browser sends the session cookie (HttpOnly,
// out of this script's reach) and every state-changing request carries the session's CSRF token.

const TOKEN_KEY = 'migration-deployer.token'

/** @type {{ csrf: string } | null} */
let ssoSession = null

/** The SSO session the page works in (from GET /auth/session), or null. @param {{ csrf: string } | null} session */
export function setSession (session) {
  ssoSession = session
}

/** @returns {{ csrf: string } | null} */
export function getSession () {
  return ssoSession
}

export const TERMINAL_STATUSES = new Set(['succeeded', 'failed', 'rejected', 'cancelled', 'expired'])

/** @returns {string | null} */
export function getToken () {
  return sessionStorage.getItem(TOKEN_KEY)
}

/** @param {string} token */
export function setToken (token) {
  sessionStorage.setItem(TOKEN_KEY, token)
}

export function forgetToken () {
  sessionStorage.removeItem(TOKEN_KEY)
}

/** An error response of the API: `{error: {code, message}}`, or what could be made of another body. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * A request to the API. Resolves with the Response when it is 2xx, throws ApiError otherwise.
 * @param {string} path an absolute path on this origin
 * @param {{ method?: string, body?: unknown, accept?: string, signal?: AbortSignal, headers?: Record<string, string> }} [options]
 */
export async function request (path, { method = 'GET', body, accept = 'application/json', signal, headers = {} } = {}) {
  const token = getToken()
  if (token === null && ssoSession === null) throw new ApiError(401, 'UNAUTHORIZED', 'Enter a token to sign in.')
  /** @type {Record<string, string>} */
  const allHeaders = { ...headers, accept }
  if (token !== null) allHeaders.authorization = `Bearer ${token}`
  else if (method !== 'GET' && ssoSession !== null) allHeaders['x-csrf-token'] = ssoSession.csrf
  if (body !== undefined) allHeaders['content-type'] = 'application/json'
  const response = await fetch(path, {
    method,
    headers: allHeaders,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: 'no-store',
    // A token goes only in its header; a session needs its cookie (same origin only).
    credentials: token !== null ? 'omit' : 'same-origin',
    redirect: 'error'
  })
  if (response.ok) return response
  let code = `HTTP_${response.status}`
  let message = `${response.status} ${response.statusText}`
  try {
    const parsed = await response.json()
    if (typeof parsed?.error?.code === 'string') code = parsed.error.code
    if (typeof parsed?.error?.message === 'string') message = parsed.error.message
  } catch { /* not JSON: keep the status line */ }
  if (response.status === 401) window.dispatchEvent(new CustomEvent('token-refused', { detail: message }))
  throw new ApiError(response.status, code, message)
}

/** GET (or another method) and parse JSON. @param {string} path @param {Parameters<typeof request>[1]} [options] */
export async function getJson (path, options) {
  return await (await request(path, options)).json()
}

/** GET a text body (the human log). @param {string} path @param {AbortSignal} [signal] */
export async function getText (path, signal) {
  return await (await request(path, { accept: 'text/plain', signal })).text()
}

/** @type {Promise<any[]> | null} */
let environmentsOnce = null

/** The configured environments; the config is fixed while the server runs, so fetched once per sign-in. */
export async function environments () {
  environmentsOnce ??= getJson('/environments').then((body) => body.environments, (error) => { environmentsOnce = null; throw error })
  return await environmentsOnce
}

/** Drops what was fetched with the previous token. */
export function clearCaches () {
  environmentsOnce = null
}

/** Encodes a path segment. @param {string} id */
export const deploymentPath = (id) => `/deployments/${encodeURIComponent(id)}`

/**
 * This browser's SSO session, if any, and whether SSO sign-in is offered here.
 * @returns {Promise<{ sso: boolean, session: null | { name: string, roles: string[], csrf_token: string } }>}
 */
export async function fetchSession () {
  const response = await fetch('/auth/session', { headers: { accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin', redirect: 'error' })
  if (!response.ok) return { sso: false, session: null }
  return await response.json()
}

/** Ends the SSO session on the server (the CSRF token proves the request comes from this page). */
export async function signOutSession () {
  const csrf = ssoSession?.csrf ?? ''
  ssoSession = null
  await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': csrf }, cache: 'no-store', credentials: 'same-origin', redirect: 'error' })
}
