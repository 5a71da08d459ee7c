import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { Role } from '../../src/domain/index.js'
import { startHarness, TOKENS, type Harness, type TokenName } from '../helpers/harness.js'

/**
 * Every route × every principal that must be refused: 401 without a valid token (before any
 * validation or lookup), 403 without the role (whether or not the resource exists). The route
 * list is checked against the OpenAPI document, so a new route without a row here fails.
 */

type Method = 'GET' | 'POST'
interface RouteRule {
  method: Method
  /** The OpenAPI path. */
  path: string
  /** Roles that may call it (admin always may). */
  roles: Role[]
  body?: unknown
}

const READ: Role[] = ['viewer', 'deployer', 'approver']
const ROUTES: RouteRule[] = [
  { method: 'POST', path: '/deployments', roles: ['deployer'], body: { environment: 'dev', dry_run: true } },
  { method: 'GET', path: '/deployments', roles: READ },
  { method: 'GET', path: '/deployments/{id}', roles: READ },
  { method: 'POST', path: '/deployments/{id}/approve', roles: ['approver'], body: { comment: 'ok' } },
  { method: 'POST', path: '/deployments/{id}/reject', roles: ['approver'], body: { reason: 'no' } },
  { method: 'POST', path: '/deployments/{id}/cancel', roles: ['deployer'] },
  { method: 'GET', path: '/deployments/{id}/log', roles: READ },
  { method: 'GET', path: '/deployments/{id}/events', roles: READ },
  { method: 'GET', path: '/deployments/{id}/targets', roles: READ },
  { method: 'POST', path: '/deployments/{id}/retry', roles: ['deployer'] },
  { method: 'POST', path: '/deployments/{id}/override-window', roles: ['admin'], body: { reason: 'break glass' } },
  { method: 'GET', path: '/environments', roles: READ },
  { method: 'GET', path: '/environments/{name}/status', roles: READ },
  { method: 'GET', path: '/environments/{name}/drift', roles: READ },
  { method: 'GET', path: '/environments/{name}/backups', roles: READ },
  { method: 'GET', path: '/me', roles: READ },
  { method: 'GET', path: '/metrics', roles: READ },
  { method: 'POST', path: '/environments/{name}/migrations/{migration}/resolve', roles: ['approver'], body: { as: 'rolled_back' } }
]
/** Routes anyone may call (SPEC §4). */
// The sign-in routes answer without credentials: who is signed in (nobody), and signing out (nothing to end).
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /auth/session', 'POST /auth/logout']

const h: Harness = await startHarness({ worker: false })
t.teardown(h.close)

// A real deployment, so refusals are shown not to depend on whether the resource exists.
const existing = (await h.request('POST', '/deployments', { as: 'carol', body: { environment: 'production' } })).json<{ id: string }>().id
const MISSING_ID = 'dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6'

function url (rule: RouteRule, id: string): string {
  return rule.path.replace('{id}', id).replace('{name}', 'dev').replace('{migration}', '20250110090000_init')
}

async function call (rule: RouteRule, id: string, headers: Record<string, string>, as: TokenName | null, method: Method | 'HEAD' = rule.method): Promise<LightMyRequestResponse> {
  return await h.request(method as 'GET', url(rule, id), { as, headers, ...(rule.body === undefined || method !== 'POST' ? {} : { body: rule.body }) })
}

function assertRefused (t: Test, response: LightMyRequestResponse, status: 401 | 403, what: string): void {
  t.equal(response.statusCode, status, `${what}: ${response.statusCode} ${response.body.slice(0, 200)}`)
  if (response.statusCode !== status || response.body === '') return // HEAD has no body
  const body = response.json<{ error: { code: string, message: string } }>()
  t.same(Object.keys(body), ['error'], `${what}: error shape`)
  t.equal(body.error.code, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', `${what}: code`)
}

t.test('the table covers every authenticated route of the API', async (t) => {
  const document = h.app.swagger() as { paths: Record<string, Record<string, { security?: unknown[] }>> }
  const documented: string[] = []
  const publicRoutes: string[] = []
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${path}`
      if (Array.isArray(operation.security) && operation.security.length === 0) publicRoutes.push(key)
      else documented.push(key)
    }
  }
  const table = ROUTES.map((r) => `${r.method} ${r.path}`)
  for (const route of documented) t.ok(table.includes(route), `${route} has a row in ROUTES (add one when adding a route)`)
  for (const route of table) t.ok(documented.includes(route), `${route} exists in the API`)
  t.same(publicRoutes.sort(), [...PUBLIC].sort(), 'only the probes and the sign-in routes are public')
  t.ok(documented.length >= 11)
})

t.test('401 without a valid token, on every route, before validation and lookup', async (t) => {
  const presented: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['an unknown token', { authorization: 'Bearer not-a-real-token' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['"Bearer" alone', { authorization: 'Bearer' }],
    ['the Basic scheme', { authorization: `Basic ${Buffer.from('ci-bot:ci-bot-token').toString('base64')}` }],
    ['the token without a scheme', { authorization: 'ci-bot-token' }],
    ['the token with its case changed', { authorization: 'Bearer CI-BOT-TOKEN' }],
    ['two tokens', { authorization: 'Bearer ci-bot-token admin-token' }],
    ['the stored sha256 instead of the token', { authorization: `Bearer ${createHash('sha256').update('admin-token').digest('hex')}` }],
    ['a prefix of a real token', { authorization: 'Bearer admin-toke' }],
    ['a real token with a suffix', { authorization: 'Bearer admin-token2' }]
  ]
  for (const rule of ROUTES) {
    for (const [what, headers] of presented) {
      assertRefused(t, await call(rule, MISSING_ID, headers, null), 401, `${rule.method} ${rule.path} with ${what}`)
    }
    // A body that would fail validation still gets 401 first: the API says nothing to strangers.
    if (rule.method === 'POST') {
      const response = await h.request('POST', url(rule, MISSING_ID), { as: null, payload: '{"nonsense": ', headers: { 'content-type': 'application/json' } })
      assertRefused(t, response, 401, `${rule.method} ${rule.path} with a broken body`)
    } else {
      assertRefused(t, await call(rule, MISSING_ID, {}, null, 'HEAD'), 401, `HEAD ${rule.path}`)
    }
  }
})

t.test('403 for every principal without the role, whether or not the deployment exists', async (t) => {
  let refusals = 0
  for (const rule of ROUTES) {
    for (const [name, roles] of Object.entries(TOKENS) as Array<[TokenName, readonly Role[]]>) {
      const allowed = roles.includes('admin') || roles.some((role) => rule.roles.includes(role))
      if (allowed) continue
      for (const id of [MISSING_ID, existing]) {
        assertRefused(t, await call(rule, id, {}, name), 403, `${rule.method} ${rule.path} as ${name} (${roles.join(', ')})`)
        refusals++
        if (!rule.path.includes('{id}')) break
      }
    }
  }
  t.ok(refusals >= 15, `${refusals} refusals checked`)
  t.equal((await h.request('GET', `/deployments/${existing}`, { as: 'viewer' })).json().status, 'queued', 'no refused request changed the deployment')
})

t.test('every principal with the role gets past authorization', async (t) => {
  for (const rule of ROUTES) {
    for (const [name, roles] of Object.entries(TOKENS) as Array<[TokenName, readonly Role[]]>) {
      const allowed = roles.includes('admin') || roles.some((role) => rule.roles.includes(role))
      if (!allowed) continue
      // The missing id keeps allowed calls from changing anything: 404 is past authorization.
      const response = await call(rule, MISSING_ID, {}, name)
      t.notOk([401, 403].includes(response.statusCode), `${rule.method} ${rule.path} as ${name}: ${response.statusCode} ${response.body.slice(0, 200)}`)
      t.ok(response.statusCode < 500, `${rule.method} ${rule.path} as ${name}: no server error`)
    }
  }
})

t.test('the public routes and the API reference need no token', async (t) => {
  for (const route of PUBLIC) {
    const [method, path] = route.split(' ') as [Method, string]
    t.ok([200, 204].includes((await h.request(method, path, { as: null })).statusCode), route)
  }
  t.equal((await h.request('GET', '/openapi.json', { as: null })).statusCode, 200)
  t.ok([200, 302].includes((await h.request('GET', '/docs', { as: null })).statusCode))
})
