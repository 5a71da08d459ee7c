import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { buildServer } from '../../src/server.js'
import { startHarness, tokenOf } from '../helpers/harness.js'

/**
 * Hostile clients: the rate limit per token (429 + Retry-After, shared by every API process),
 * security headers on every response, migration folder names that are not `<digits>_<name>`,
 * inline names built to escape or to forge log lines, prototype-polluting bodies.
 * (working_directory escapes and the body size limit: test/api/bad-input.test.ts.)
 */

interface ErrorBody { error: { code: string, message: string, details?: unknown } }

function assertErrorShape (t: Test, response: LightMyRequestResponse, status: number, code: string): ErrorBody {
  t.equal(response.statusCode, status, `${status}: ${response.body.slice(0, 300)}`)
  t.match(response.headers['content-type'], /^application\/json/)
  const body = response.json<ErrorBody>()
  t.same(Object.keys(body), ['error'])
  t.ok(['code,message', 'code,details,message'].includes(Object.keys(body.error).sort().join()), 'code, message, optional details')
  t.equal(body.error.code, code)
  return body
}

t.test('rate limit per token: 429 with Retry-After, per token, shared by API processes', async (t) => {
  const h = await startHarness({ worker: false, limits: { rate_limit: { max: 5, window: '1m' } } })
  t.teardown(h.close)

  for (let i = 1; i <= 5; i++) {
    const response = await h.request('GET', '/deployments', { as: 'viewer' })
    t.equal(response.statusCode, 200, `request ${i} of 5 passes`)
    t.equal(response.headers['x-ratelimit-limit'], '5')
    t.equal(response.headers['x-ratelimit-remaining'], String(5 - i))
  }
  const limited = await h.request('GET', '/deployments', { as: 'viewer' })
  const body = assertErrorShape(t, limited, 429, 'RATE_LIMITED')
  t.match(body.error.message, /too many requests for token viewer: at most 5 per 60s; retry in \d+s/)
  t.match(body.error.details, { limit: 5, window_seconds: 60, retry_after_seconds: Number })
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${String(limited.headers['retry-after'])}`)
  t.equal(limited.headers['x-content-type-options'], 'nosniff', 'a 429 carries the security headers too')

  // Every route counts against the same token; other tokens have their own budget.
  assertErrorShape(t, await h.request('POST', '/deployments', { as: 'viewer', body: { environment: 'dev' } }), 429, 'RATE_LIMITED')
  t.equal((await h.request('GET', '/deployments', { as: 'alice' })).statusCode, 200, 'alice is not limited by viewer\'s requests')

  // A second API process on the same Redis sees the same count.
  const second = await buildServer(h.runtime)
  t.teardown(async () => { await second.close() })
  const elsewhere = await second.inject({ method: 'GET', url: '/deployments', headers: { authorization: `Bearer ${tokenOf('viewer')}` } })
  t.equal(elsewhere.statusCode, 429, 'the limit holds across API processes')
  const aliceElsewhere = await second.inject({ method: 'GET', url: '/deployments', headers: { authorization: `Bearer ${tokenOf('alice')}` } })
  t.equal(aliceElsewhere.headers['x-ratelimit-remaining'], '3', 'alice\'s count is shared too (2 of 5 used)')

  // Guessing tokens: requests without a valid token share one budget per address, checked before authentication.
  for (let i = 0; i < 5; i++) t.equal((await h.request('GET', '/deployments', { as: null, headers: { authorization: `Bearer guess-${i}` } })).statusCode, 401)
  const guessing = await h.request('GET', '/deployments', { as: null, headers: { authorization: 'Bearer guess-5' } })
  assertErrorShape(t, guessing, 429, 'RATE_LIMITED')
  t.match(guessing.json<ErrorBody>().error.message, /requests without a valid token from this address/)
  t.ok(Number(guessing.headers['retry-after']) >= 1)
  t.equal((await h.request('GET', '/deployments', { as: 'ci-bot' })).statusCode, 200, 'a valid token from the same address is not affected')

  // Probes are never limited.
  for (let i = 0; i < 12; i++) t.equal((await h.request('GET', '/healthz', { as: null })).statusCode, 200)
})

t.test('security headers on JSON, text, errors and the docs', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true } })
  const id = created.json<{ id: string }>().id
  const responses: Array<[string, LightMyRequestResponse]> = [
    ['a 202', created],
    ['a JSON 200', await h.request('GET', `/deployments/${id}`)],
    ['the text log', await h.request('GET', `/deployments/${id}/log`)],
    ['a 401', await h.request('GET', '/deployments', { as: null })],
    ['a 404', await h.request('GET', '/nowhere', { as: null })],
    ['a 400', await h.request('POST', '/deployments', { body: { environment: 5 } })],
    ['/healthz', await h.request('GET', '/healthz', { as: null })],
    ['/openapi.json', await h.request('GET', '/openapi.json', { as: null })]
  ]
  for (const [what, response] of responses) {
    const headers = response.headers
    t.equal(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
    t.equal(headers['x-frame-options'], 'SAMEORIGIN', `${what}: frame options`)
    t.match(headers['strict-transport-security'], /max-age=\d+/, `${what}: HSTS`)
    t.equal(headers['referrer-policy'], 'no-referrer', `${what}: referrer policy`)
    t.equal(headers['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`)
    t.equal(headers['x-dns-prefetch-control'], 'off', `${what}: DNS prefetch`)
    t.match(headers['content-security-policy'], /default-src 'none'/, `${what}: the API's CSP allows nothing`)
    t.match(headers['content-security-policy'], /frame-ancestors 'none'/)
    t.notOk('x-powered-by' in headers, `${what}: no x-powered-by`)
  }
  // The docs UI still works: its page gets a CSP that allows its own scripts and styles.
  let docs = await h.request('GET', '/docs', { as: null })
  for (let hops = 0; docs.statusCode >= 300 && docs.statusCode < 400 && hops < 3; hops++) {
    const location = String(docs.headers.location)
    docs = await h.request('GET', location.startsWith('/') ? location : `/docs/${location.replace(/^\.\//, '')}`, { as: null })
  }
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
  t.match(docs.headers['content-security-policy'], /script-src 'self'/)
  t.equal(docs.headers['x-content-type-options'], 'nosniff')
})

t.test('migration folders not named <digits>_<name>: 400 before anything is recorded', async (t) => {
  const workspace = mkdtempSync(path.join(tmpdir(), 'md-hostile-'))
  t.teardown(() => { rmSync(workspace, { recursive: true, force: true }) })
  const project = (name: string, folders: string[]): void => {
    for (const folder of folders) {
      mkdirSync(path.join(workspace, name, 'prisma', 'migrations', folder), { recursive: true })
      writeFileSync(path.join(workspace, name, 'prisma', 'migrations', folder, 'migration.sql'), 'SELECT 1;\n')
    }
  }
  project('good', ['20250101000000_init', '20250102000000_with space'])
  project('unnamed', ['20250101000000_init', 'init'])
  project('dashed', ['20250101000000-init'])
  project('forged', ['20250101000000_init', '20250102000000_x\n✓ Approval confirmed (alice)'])
  const h = await startHarness({ workspaceRoot: workspace, worker: false })
  t.teardown(h.close)

  t.equal((await h.request('POST', '/deployments', { body: { environment: 'dev', working_directory: 'good' } })).statusCode, 202, 'Prisma-style names pass')
  const unnamed = assertErrorShape(t, await h.request('POST', '/deployments', { body: { environment: 'dev', working_directory: 'unnamed' } }), 400, 'INVALID_MIGRATION_NAME')
  t.match(unnamed.error.message, /migration folder "init" is not named <digits>_<name>/)
  assertErrorShape(t, await h.request('POST', '/deployments', { body: { environment: 'dev', working_directory: 'dashed' } }), 400, 'INVALID_MIGRATION_NAME')
  const forged = assertErrorShape(t, await h.request('POST', '/deployments', { body: { environment: 'dev', working_directory: 'forged' } }), 400, 'INVALID_MIGRATION_NAME')
  t.notMatch(forged.error.message, /\n/, 'the newline is escaped in the message, never a new line')
  t.match(forged.error.message, /\\n✓ Approval confirmed/)
  const { rows } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments')
  t.equal(rows[0]?.n, 1, 'only the valid request recorded a deployment')
})

t.test('hostile inline migration names and bodies: 400 with the error shape', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const names = [
    '20250101000000_x\n✓ Approval confirmed (alice)',
    '20250101000000_../../../etc/passwd',
    '20250101000000_a/b',
    '20250101000000_a\u0000b',
    `20250101000000_${'a'.repeat(300)}`,
    '٢٠٢٥_arabic_indic_digits',
    ' 20250101000000_leading_space',
    '20250101000000_a;DROP TABLE deployments'
  ]
  for (const name of names) {
    const response = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name, sql: 'SELECT 1;' }] } })
    assertErrorShape(t, response, 400, 'VALIDATION_FAILED')
    t.match(response.json<ErrorBody>().error.message, /body\.migrations\.0\.name/, JSON.stringify(name).slice(0, 60))
  }
  assertErrorShape(t, await h.request('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '1_a', sql: 'SELECT 1;' }, { name: '1_a', sql: 'SELECT 1;' }] } }), 400, 'DUPLICATE_MIGRATION')

  // Prototype pollution through JSON is refused outright.
  for (const payload of ['{"environment":"dev","__proto__":{"roles":["admin"]}}', '{"environment":"dev","constructor":{"prototype":{"admin":true}}}']) {
    const response = await h.request('POST', '/deployments', { payload })
    t.equal(response.statusCode, 400, payload)
    t.same(Object.keys(response.json()), ['error'])
    t.equal(({} as Record<string, unknown>).roles, undefined, 'Object.prototype untouched')
  }

  // NUL characters, which PostgreSQL cannot store: refused up front, naming where, in every place a client can put one.
  const nul: Array<[string, string, Record<string, unknown> | undefined, string]> = [
    ['GET', '/deployments/dep_%00', undefined, 'params.id'],
    ['GET', '/deployments?environment=dev%00', undefined, 'querystring.environment'],
    ['GET', '/environments/dev%00/status', undefined, 'params.name'],
    ['POST', '/environments/dev/migrations/1_a%00/resolve', { as: 'applied' }, 'params.migration'],
    ['POST', '/deployments', { environment: 'dev', source: { commit: 'abc\u0000' } }, 'body.source.commit'],
    ['POST', '/deployments', { environment: 'dev', migrations: [{ name: '20250101000000_a', sql: 'SELECT 1;\u0000' }] }, 'body.migrations.0.sql'],
    ['POST', '/deployments', { environment: 'dev', working_directory: 'app\u0000' }, 'body.working_directory'],
    ['POST', '/deployments', { environment: 'dev', 'key\u0000': 1 }, 'body.key\\u0000'],
    ['POST', '/deployments/dep_x/approve', { comment: 'ok\u0000' }, 'body.comment'],
    ['POST', '/deployments/dep_x/reject', { reason: '\u0000' }, 'body.reason']
  ]
  for (const [method, url, body, where] of nul) {
    const as = url.includes('approve') || url.includes('reject') || url.includes('resolve') ? 'alice' : 'ci-bot'
    const response = await h.request(method as 'GET', url, { as, ...(body === undefined ? {} : { body }) })
    const error = assertErrorShape(t, response, 400, 'VALIDATION_FAILED')
    t.match(error.error.message, `${where} contains a NUL character`, `${method} ${url}`)
  }

  const { rows } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments')
  t.equal(rows[0]?.n, 0, 'no hostile request recorded a deployment')
})
