// The release manager's page: sign in with a token, then #/ (the overview) or
// #/deployments/<id> (one deployment). Only the view lives in the URL; the token never does.

import { ApiError, clearCaches, forgetToken, getJson, getToken, setToken } from './api.js'
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
    h('p', null, 'Paste your token into the Token field above to see deployments waiting for approval. It is kept in this tab only (session storage) and sent as a bearer header, never in an address.'))
}

/** Who the token is, or a signed-out page when it is refused. */
async function signIn () {
  try {
    me = await getJson('/me')
  } catch (error) {
    forgetToken()
    showSignedOut()
    showAuthMessage(error instanceof ApiError && error.status === 401 ? 'That token was refused. Check it and try again.' : `Could not sign in: ${error instanceof Error ? error.message : String(error)}`)
    tokenInput.focus()
    return false
  }
  showAuthMessage(null)
  tokenForm.hidden = true
  signedIn.hidden = false
  whoami.textContent = `Signed in as ${me?.name} (${me?.roles.join(', ')})`
  return true
}

async function route () {
  viewController.abort()
  viewController = new AbortController()
  const signal = viewController.signal
  if (getToken() === null) { showSignedOut(); return }
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

signOut.addEventListener('click', () => {
  forgetToken()
  clearCaches()
  viewController.abort()
  showSignedOut()
  tokenInput.focus()
})

window.addEventListener('token-refused', () => {
  if (me === null) return
  forgetToken()
  clearCaches()
  viewController.abort()
  showSignedOut()
  showAuthMessage('The server refused the token (it may have been revoked). Sign in again.')
})

window.addEventListener('hashchange', () => { if (location.hash === '' || location.hash.startsWith('#/')) void route() })
void route()
