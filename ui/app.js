// The release manager's page: sign in with a token, then #/ (the overview) or
// #/deployments/<id> (one deployment). Only the view lives in the URL; the token never does.

import { ApiError, clearCaches, fetchSession, forgetToken, getJson, getSession, getToken, setSession, setToken, signOutSession } from './api.js'
import { h, replaceChildren } from './dom.js'
import { showDeployment } from './deployment.js'
import { showOverview } from './overview.js'

const main = /** @type {HTMLElement} */ (document.getElementById('main'))
const tokenForm = /** @type {HTMLFormElement} */ (document.getElementById('token-form'))
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById('token'))
const signedIn = /** @type {HTMLElement} */ (document.getElementById('signed-in'))
const whoami = /** @type {HTMLElement} */ (document.getElementById('whoami'))
const signOut = /** @type {HTMLButtonElement} */ (document.getElementById('sign-out'))
const authMessage = /** @type {HTMLElement} */ (document.getElementById('auth-message'))
const ssoSignIn = /** @type {HTMLAnchorElement} */ (document.getElementById('sso-sign-in'))

/** Why an SSO sign-in came back without a session (the server's codes, in words). */
const SIGN_IN_ERRORS = /** @type {Record<string, string>} */ ({
  no_role: 'You signed in, but none of your groups has a role here. Ask an operator to map your group (auth.sso.group_roles).',
  expired: 'That sign-in took too long or was already used. Sign in again.',
  refused: 'The sign-in was refused by the identity provider or could not be checked. Sign in again.'
})
/** Whether GET /auth/session was asked (once per page load: a session starts with a navigation). */
let sessionChecked = false

/** @type {{ name: string, roles: string[] } | null} */
let me = null
/** Aborts the current view's requests, streams and polling when the reader moves on. */
let viewController = new AbortController()
let firstRoute = true

/** @param {string | null} message */
function showAuthMessage (message) {
  authMessage.textContent = message ?? ''
  authMessage.hidden = message === null
}

function showSignedOut () {
  me = null
  tokenForm.hidden = false
  signedIn.hidden = true
  replaceChildren(main, h('h1', { tabindex: '-1' }, 'Review deployments'),
    h('p', null, 'Paste your token into the Token field above to see deployments waiting for approval. It is kept in this tab only (session storage) and sent as a bearer header, never in an address.'),
    ssoSignIn.hidden ? null : h('p', null, 'Or sign in with your organisation\'s account: Sign in with SSO.'))
}

/** Takes up this browser's SSO session, if it has one (and offers SSO sign-in when the server does). */
async function restoreSession () {
  if (sessionChecked) return false
  sessionChecked = true
  const returnTo = location.hash.startsWith('#/') && location.hash !== '#/' ? `?return_to=${encodeURIComponent(location.hash)}` : ''
  ssoSignIn.href = `/auth/sso/login${returnTo}`
  const problem = new URLSearchParams(location.search).get('signin_error')
  if (problem !== null) {
    showAuthMessage(SIGN_IN_ERRORS[problem] ?? SIGN_IN_ERRORS.refused ?? null)
    history.replaceState(null, '', `/ui${location.hash}`)
  }
  try {
    const { sso, session } = await fetchSession()
    ssoSignIn.hidden = !sso
    if (session === null) return false
    setSession({ csrf: session.csrf_token })
    return true
  } catch {
    return false
  }
}

/** Who the token is, or a signed-out page when it is refused. */
async function signIn () {
  try {
    me = await getJson('/me')
  } catch (error) {
    forgetToken()
    setSession(null)
    showSignedOut()
    showAuthMessage(error instanceof ApiError && error.status === 401 ? 'That token was refused. Check it and try again.' : `Could not sign in: ${error instanceof Error ? error.message : String(error)}`)
    tokenInput.focus()
    return false
  }
  showAuthMessage(null)
  tokenForm.hidden = true
  signedIn.hidden = false
  whoami.textContent = `Signed in as ${me?.name} (${me?.roles.join(', ')})`
  signOut.textContent = getSession() === null ? 'Forget token' : 'Sign out'
  return true
}

async function route () {
  viewController.abort()
  viewController = new AbortController()
  const signal = viewController.signal
  if (getToken() === null && getSession() === null && !await restoreSession()) { showSignedOut(); return }
  if (me === null && !await signIn()) return
  const match = /^#\/deployments\/([^/]+)$/.exec(location.hash)
  try {
    if (match !== null) await showDeployment(main, decodeURIComponent(match[1] ?? ''), signal, me)
    else await showOverview(main, signal)
  } catch (error) {
    if (signal.aborted) return
    const text = error instanceof ApiError ? error.message : `Something went wrong: ${error instanceof Error ? error.message : String(error)}`
    replaceChildren(main, h('h1', { tabindex: '-1' }, 'Could not load this page'), h('p', { class: 'error', role: 'alert' }, text), h('p', null, h('a', { href: '#/' }, 'Back to all deployments')))
  }
  // Moving to a new view puts keyboard focus on its heading, as a page load would.
  if (!firstRoute) main.querySelector('h1')?.focus()
  firstRoute = false
}

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const token = tokenInput.value.trim()
  tokenInput.value = ''
  if (token === '') return
  setToken(token)
  clearCaches()
  me = null
  void route()
})

signOut.addEventListener('click', async () => {
  // The session ends on the server before the page says so (a reload must not find it again).
  if (getSession() !== null) await signOutSession().catch(() => {})
  forgetToken()
  clearCaches()
  viewController.abort()
  showSignedOut()
  tokenInput.focus()
})

window.addEventListener('token-refused', () => {
  if (me === null) return
  setSession(null)
  forgetToken()
  clearCaches()
  viewController.abort()
  showSignedOut()
  showAuthMessage('The server refused the token (it may have been revoked). Sign in again.')
})

window.addEventListener('hashchange', () => { if (location.hash === '' || location.hash.startsWith('#/')) void route() })
void route()
