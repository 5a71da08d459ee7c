import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { Request } from 'playwright-core'
import { startHarness } from '../helpers/harness.js'
import { freePort, startIdentityProvider } from '../helpers/oidc-provider.js'
import { launchBrowser } from './browser.js'

// What the callbacks given to page.evaluate use: they run in the browser.
declare const document: { cookie: string }
declare const sessionStorage: { length: number }
declare const localStorage: { length: number }

/**
 * A person signs in to the review page through their organisation's OpenID provider (a real
 * one, oidc-provider, in this process) in Chromium: the authorization-code flow with PKCE, a
 * server-side session in an HttpOnly SameSite=Strict cookie, the pending approvals their group's
 * role may decide, an approval sent with the CSRF token, and sign-out.
 */

const port = await freePort()
const BASE = `http://127.0.0.1:${port}`
const idp = await startIdentityProvider({ redirectUrl: `${BASE}/auth/sso/callback`, groups: { mona: ['release-managers', 'engineers'], eve: ['contractors'] } })
t.teardown(idp.close)
const secretVariable = `SSO_CLIENT_SECRET_${randomBytes(3).toString('hex').toUpperCase()}`

const h = await startHarness({
  env: { [secretVariable]: idp.clientSecret },
  auth: {
    sso: {
      issuer: idp.issuer,
      client_id: idp.clientId,
      client_secret_env: secretVariable,
      redirect_url: `${BASE}/auth/sso/callback`,
      scopes: ['openid', 'profile', 'groups'],
      group_roles: { 'release-managers': ['approver'], engineers: ['viewer'] }
    }
  }
})
t.teardown(h.close)
await h.app.listen({ port, host: '127.0.0.1' })

const browser = await launchBrowser()
t.teardown(browser.close)
// The provider's development pages link fonts on the internet: refuse at once what is not on loopback.
await browser.context.route((url) => url.hostname !== '127.0.0.1', async (route) => { await route.abort() })

/** Signs in on the provider's own pages, as a person would: login, password, then consent. */
async function signInThroughProvider (page: import('playwright-core').Page, login: string): Promise<void> {
  await page.getByRole('link', { name: 'Sign in with SSO' }).click()
  await page.waitForURL(`${idp.issuer}/**`)
  await page.locator('input[name="login"]').fill(login)
  await page.locator('input[name="password"]').fill('any password')
  await page.getByRole('button', { name: 'Sign-in' }).click()
  // The consent page (first use of this client), then back to the review page.
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.waitForURL(`${BASE}/ui**`)
}

t.test('sign in through SSO, see what waits for your role, approve with the CSRF token, sign out', async (t) => {
  const created = await h.request('POST', '/deployments', { body: { environment: 'production', source: { commit: '9f3c2ab', ref: 'main' } } })
  t.equal(created.statusCode, 202, created.body)
  const id = created.json<{ id: string }>().id
  await h.waitFor(id, ['pending_approval'])

  const page = await browser.context.newPage()
  const requests: Request[] = []
  page.on('request', (request) => requests.push(request))
  const consoleErrors: string[] = []
  // The review page's own errors (the provider's development pages fetch fonts from the internet).
  page.on('console', (message) => { if (message.type() === 'error' && message.location().url.startsWith(BASE)) consoleErrors.push(message.text()) })
  await page.goto(`${BASE}/ui`)
  await signInThroughProvider(page, 'mona')
  await page.getByText('Signed in as mona (approver, viewer)').waitFor()

  const cookie = (await browser.context.cookies(BASE)).find((c) => c.name === 'md_session')
  t.ok(cookie !== undefined, 'a session cookie')
  t.equal(cookie?.httpOnly, true, 'HttpOnly')
  t.equal(cookie?.sameSite, 'Strict', 'SameSite=Strict')
  t.equal(cookie?.path, '/')
  const sessionId = cookie?.value as string
  t.equal(await page.evaluate(() => document.cookie.includes('md_session')), false, 'no script on the page can read it')
  t.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0, 'nothing kept in the page\'s storage')
  t.same(requests.map((r) => r.url()).filter((url) => url.includes(sessionId)), [], 'the session id is in no URL')
  t.notOk((await browser.context.cookies(BASE)).some((c) => c.name === 'md_sso_login'), 'the sign-in\'s own cookie is gone')

  // The overview lists the deployment waiting for approval; the approver role may decide it.
  await page.locator(`li.card[data-deployment="${id}"]`).waitFor()
  await page.locator(`li.card[data-deployment="${id}"] a.card-title`).click()
  await page.getByRole('heading', { name: 'Deployment to production' }).waitFor()
  const approve = page.getByRole('button', { name: 'Approve' })
  t.notOk(await approve.isDisabled(), 'Approve is open to mona')
  await page.locator('#approve-comment').fill('looks right')
  const approval = page.waitForRequest((request) => request.url().endsWith(`/deployments/${id}/approve`))
  await approve.click()
  const sent = await approval
  const headers = await sent.allHeaders()
  t.ok(typeof headers['x-csrf-token'] === 'string' && headers['x-csrf-token'].length > 20, 'the approval carries the CSRF token')
  t.notOk('authorization' in headers, 'and no bearer token')
  t.equal((await sent.response())?.status(), 200)
  const deployment = await h.waitFor(id, ['succeeded', 'failed'])
  t.same(deployment.approval?.approvals.map((a) => [a.by, a.comment]), [['mona', 'looks right']])

  // Sign out: the session ends on the server, and a reload finds nobody.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('link', { name: 'Sign in with SSO' }).waitFor()
  const replayed = await h.app.inject({ method: 'GET', url: '/me', headers: { cookie: `md_session=${sessionId}` } })
  t.equal(replayed.statusCode, 401, 'the old session id is refused')
  await page.reload()
  await page.getByRole('link', { name: 'Sign in with SSO' }).waitFor()
  t.ok(await page.getByLabel('Token').isVisible(), 'signed out: the token field and SSO are offered')
  t.same(consoleErrors, [], 'no console error (a CSP violation would be one)')
  await page.close()
})

t.test('a person none of whose groups has a role is told so, and gets no session', async (t) => {
  await browser.context.clearCookies()
  const page = await browser.context.newPage()
  await page.goto(`${BASE}/ui`)
  await signInThroughProvider(page, 'eve')
  await page.getByText('none of your groups has a role here', { exact: false }).waitFor()
  t.notOk((await browser.context.cookies(BASE)).some((c) => c.name === 'md_session'), 'no session cookie')
  t.equal(new URL(page.url()).search, '', 'the error code is taken off the address')
  await page.close()
})

t.test('a callback without the browser\'s sign-in cookie (a forged or replayed link) starts no session', async (t) => {
  const response = await h.app.inject({ method: 'GET', url: '/auth/sso/callback?code=stolen&state=whatever' })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/ui?signin_error=expired')
  t.equal(response.headers['set-cookie']?.toString().includes('md_session='), false)
})
