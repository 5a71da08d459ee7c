import t from 'tap'
import { sha256Hex } from '../../src/lib/checksum.js'
import type { Principal } from '../../src/auth/principal.js'
import type { SsoRuntime } from '../../src/api/plugins/sessions.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { githubClaims, startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js'

/**
 * People's sessions (SPEC §13) without a browser: a session made the way the SSO callback makes
 * one, then the cookie on API requests. CSRF on every state-changing request, timeouts, sign-out,
 * and self-approval across both worlds: a CI run a person started cannot be approved by that
 * person's session. (The sign-in itself, through a real provider in Chromium: test/ui/sso-sign-in.)
 */

const AUDIENCE = 'migration-deployer'
const github: TestIssuer = await startTestIssuer({ audience: AUDIENCE })
t.teardown(github.close)

const h: Harness = await startHarness({
  auth: {
    oidc: [{
      name: 'github',
      issuer: github.issuer,
      audience: AUDIENCE,
      rules: [{ match: { repository_id: '42' }, principal: '{repository}@{ref}', roles: ['deployer'], person: '{actor}' }]
    }],
    sso: {
      // Never contacted here: sessions are made directly.
      issuer: 'http://127.0.0.1:9/',
      client_id: 'deployer',
      // Public behind https: the cookie is Secure and __Host- prefixed (the browser test covers plain http).
      redirect_url: 'https://deployer.example.com/auth/sso/callback',
      group_roles: { 'release-managers': ['approver'], engineers: ['viewer'] },
      idle_timeout: '2s',
      absolute_timeout: '1h'
    }
  }
})
t.teardown(h.close)
const sso = h.app.sso as SsoRuntime
const COOKIE = '__Host-md_session'
const sessionKey = (id: string): string => `${h.runtime.queue.name}:sso:session:${sha256Hex(id)}`

async function signIn (claims: Record<string, unknown>): Promise<{ cookie: string, csrf: string, principal: Principal }> {
  const principal = sso.client.principalOf(claims)
  const { id, session } = await sso.store.create(principal)
  return { cookie: `${COOKIE}=${id}`, csrf: session.csrf, principal }
}

async function asSession (method: 'GET' | 'POST', url: string, session: { cookie: string }, options: { csrf?: string, body?: unknown } = {}): Promise<{ status: number, body: any }> {
  const headers: Record<string, string> = { cookie: session.cookie }
  if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await h.app.inject({ method, url, headers, ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }) })
  return { status: response.statusCode, body: response.body === '' ? null : response.json() }
}

t.test('roles come from the groups claim; no mapped group, no sign-in', async (t) => {
  t.same(sso.client.principalOf({ sub: 's1', preferred_username: 'mona', groups: ['engineers', 'release-managers', 'other'] }).roles.slice().sort(), ['approver', 'viewer'])
  t.throws(() => sso.client.principalOf({ sub: 's2', preferred_username: 'eve', groups: ['other'] }), /none of their groups \(other\) has a role here/)
  t.throws(() => sso.client.principalOf({ sub: 's3', preferred_username: 'eve' }), /no "groups" claim/)
})

t.test('GET /auth/session tells the page who is signed in, with the CSRF token', async (t) => {
  const mona = await signIn({ sub: 'sub-mona', preferred_username: 'mona', groups: ['release-managers'] })
  const session = await asSession('GET', '/auth/session', mona)
  t.equal(session.status, 200)
  t.same(session.body.session, { ...session.body.session, name: 'mona', roles: ['approver'], csrf_token: mona.csrf })
  t.same((await asSession('GET', '/me', mona)).body, { name: 'mona', roles: ['approver'] })
  t.same((await h.app.inject({ method: 'GET', url: '/auth/session' })).json(), { sso: true, session: null }, 'no cookie: nobody')
  const forged = await asSession('GET', '/me', { cookie: `${COOKIE}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` })
  t.equal(forged.status, 401, 'an unknown session id is refused')
  t.equal(forged.body.error.details.reason, 'session_expired')
})

t.test('a CI run started by a person cannot be approved by that person\'s SSO session; another approver can, with the CSRF token', async (t) => {
  const token = await github.token(githubClaims({ actor: 'OctoCat' }))
  const created = await h.app.inject({ method: 'POST', url: '/deployments', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ environment: 'production' }) })
  t.equal(created.statusCode, 202, created.body)
  const id = created.json<{ id: string }>().id
  await h.waitFor(id, ['pending_approval'])

  const octocat = await signIn({ sub: 'sub-octocat', preferred_username: 'octocat', groups: ['release-managers'] })
  const self = await asSession('POST', `/deployments/${id}/approve`, octocat, { csrf: octocat.csrf, body: {} })
  t.equal(self.status, 403, 'the same person (logins compare without case)')
  t.match(self.body.error.message, /octocat requested this deployment \(as OctoCat, through org\/app@refs\/heads\/main\) and cannot approve it/)

  const mona = await signIn({ sub: 'sub-mona', preferred_username: 'mona', groups: ['release-managers'] })
  const noCsrf = await asSession('POST', `/deployments/${id}/approve`, mona, { body: {} })
  t.equal(noCsrf.status, 403, 'no CSRF token')
  t.equal(noCsrf.body.error.code, 'CSRF_TOKEN_INVALID')
  const wrongCsrf = await asSession('POST', `/deployments/${id}/approve`, mona, { csrf: octocat.csrf, body: {} })
  t.equal(wrongCsrf.body.error.code, 'CSRF_TOKEN_INVALID', 'another session\'s CSRF token')

  const approved = await asSession('POST', `/deployments/${id}/approve`, mona, { csrf: mona.csrf, body: { comment: 'reviewed' } })
  t.equal(approved.status, 200, JSON.stringify(approved.body))
  const events = (await h.request('GET', `/deployments/${id}/events`, { as: 'viewer' })).json<{ events: Array<{ type: string, actor: string, actor_identity: unknown }> }>().events
  t.same(events.find((e) => e.type === 'approved'), { ...events.find((e) => e.type === 'approved'), actor: 'mona', actor_identity: { method: 'sso', issuer: 'http://127.0.0.1:9/', subject: 'sub-mona', person: 'mona' } }, 'the approval records the person\'s issuer and subject')
  await h.waitFor(id, ['succeeded'])
})

t.test('sign-out ends the session (with the CSRF token); an idle session ends by itself', async (t) => {
  const mona = await signIn({ sub: 'sub-mona', preferred_username: 'mona', groups: ['release-managers'] })
  t.equal((await asSession('POST', '/auth/logout', mona)).status, 403, 'sign-out needs the CSRF token too')
  const out = await h.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: mona.cookie, 'x-csrf-token': mona.csrf } })
  t.equal(out.statusCode, 204)
  const cleared = String(out.headers['set-cookie'])
  t.match(cleared, /^__Host-md_session=;/, 'the cookie is cleared')
  for (const attribute of ['Expires=Thu, 01 Jan 1970', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) t.ok(cleared.includes(attribute), `${attribute} in ${cleared}`)
  t.equal((await asSession('GET', '/me', mona)).status, 401, 'the session is gone on the server')

  const idle = await signIn({ sub: 'sub-idle', preferred_username: 'idle', groups: ['engineers'] })
  t.equal((await asSession('GET', '/me', idle)).status, 200)
  const deadline = Date.now() + 10_000
  let status = 200
  while (status === 200) {
    if (Date.now() > deadline) throw new Error('the idle session never ended')
    await new Promise((resolve) => setTimeout(resolve, 500))
    // Reading the session restarts its idle time: check without touching it.
    status = await h.runtime.redis.exists(sessionKey(idle.cookie.slice(COOKIE.length + 1))) === 1 ? 200 : 401
  }
  t.equal((await asSession('GET', '/me', idle)).status, 401, 'after 2 s without a request the session has ended')
})

t.test('the absolute timeout ends an active session', async (t) => {
  const principal = sso.client.principalOf({ sub: 'sub-old', preferred_username: 'old', groups: ['engineers'] })
  const { id } = await sso.store.create(principal)
  const key = sessionKey(id)
  const stored = JSON.parse(await h.runtime.redis.get(key) as string) as { expires_at: number }
  stored.expires_at = Date.now() - 1
  await h.runtime.redis.set(key, JSON.stringify(stored), 'PX', 60_000)
  t.equal((await asSession('GET', '/me', { cookie: `${COOKIE}=${id}` })).status, 401)
  t.equal(await h.runtime.redis.exists(key), 0, 'and it is removed')
})
