import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { FIXTURES, startHarness, type Harness } from '../helpers/harness.js'

/**
 * Every way a client can get a request wrong, through the real API (SPEC §4): the status code,
 * the error shape `{error: {code, message, details?}}`, and a message that says what to fix.
 */

interface ErrorBody { error: { code: string, message: string, details?: unknown } }

// A workspace of its own: a copy of the example project, an empty folder, and symlinks that lead
// out of it (one to a real Prisma project, so only the escape can be the reason it is refused).
const workspace = mkdtempSync(path.join(tmpdir(), 'md-bad-input-'))
cpSync(path.join(FIXTURES, 'app'), path.join(workspace, 'app'), { recursive: true })
mkdirSync(path.join(workspace, 'empty'))
symlinkSync(path.join(FIXTURES, 'app'), path.join(workspace, 'escape'))
symlinkSync('/etc', path.join(workspace, 'etc-link'))
t.teardown(() => { rmSync(workspace, { recursive: true, force: true }) })

const h: Harness = await startHarness({ workspaceRoot: workspace, limits: { body_bytes: 2048 } })
t.teardown(h.close)

// Every response of this file, to check at the end that none leaks a stack or a password.
const responses: LightMyRequestResponse[] = []
const send: Harness['request'] = async (...args) => {
  const response = await h.request(...args)
  responses.push(response)
  return response
}

/** Asserts an error response: status, the exact SPEC §4 shape, the code, and what the message says. */
function assertError (t: Test, response: LightMyRequestResponse, status: number, code: string | RegExp, message: RegExp | RegExp[]): ErrorBody {
  t.equal(response.statusCode, status, `status ${status}: ${response.body}`)
  t.match(response.headers['content-type'], /^application\/json/, 'errors are JSON')
  const body = response.json<ErrorBody>()
  t.same(Object.keys(body), ['error'], 'the body is {error: …} and nothing else')
  const keys = Object.keys(body.error).sort()
  t.ok(keys.join() === 'code,message' || keys.join() === 'code,details,message', `error has code, message and optional details only (got ${keys.join()})`)
  t.type(body.error.code, 'string')
  t.type(body.error.message, 'string')
  t.match(body.error.code, code)
  for (const pattern of Array.isArray(message) ? message : [message]) t.match(body.error.message, pattern)
  return body
}

t.test('unknown environment: 400 naming the valid ones', async (t) => {
  const response = await send('POST', '/deployments', { body: { environment: 'prod' } })
  const body = assertError(t, response, 400, 'UNKNOWN_ENVIRONMENT', [/unknown environment "prod"/, /valid environments: dev, staging, production/])
  t.same(body.error.details, { valid_environments: ['dev', 'staging', 'production'] })
})

t.test('malformed or missing JSON: 400', async (t) => {
  const truncated = await send('POST', '/deployments', { payload: '{"environment": "dev",' })
  assertError(t, truncated, 400, 'INVALID_JSON', [/not valid JSON/, /send a JSON object/])
  const empty = await send('POST', '/deployments', { payload: '' })
  assertError(t, empty, 400, 'INVALID_JSON', [/empty/, /send a JSON object/])
  const xml = await send('POST', '/deployments', { payload: '<environment>dev</environment>', headers: { 'content-type': 'application/xml' } })
  assertError(t, xml, 415, 'UNSUPPORTED_MEDIA_TYPE', /Content-Type: application\/json/)
  const notAnObject = await send('POST', '/deployments', { payload: '"dev"' })
  assertError(t, notAnObject, 400, 'VALIDATION_FAILED', /^invalid request: body: .*object/)
  const none = await send('POST', '/deployments', {})
  assertError(t, none, 400, 'VALIDATION_FAILED', /^invalid request: body: .*object/)
})

t.test('wrong types: 400 naming the field path', async (t) => {
  const environment = assertError(t, await send('POST', '/deployments', { body: { environment: 5 } }), 400, 'VALIDATION_FAILED', [/body\.environment: /, /string/])
  t.notMatch(environment.error.message, /required/, 'a value that is there is not reported as missing')
  t.match(environment.error.details, [{ path: 'body.environment', message: String }])

  const dryRun = assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', dry_run: 'yes' } }), 400, 'VALIDATION_FAILED', [/body\.dry_run: /, /boolean/])
  t.same((dryRun.error.details as Array<{ path: string }>).map((d) => d.path), ['body.dry_run'])

  const several = assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', skip_backup: 1, source: { commit: 42 } } }), 400, 'VALIDATION_FAILED', [/body\.skip_backup: /, /body\.source\.commit: /])
  t.same((several.error.details as Array<{ path: string }>).map((d) => d.path).sort(), ['body.skip_backup', 'body.source.commit'], 'every problem is listed')

  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', operation: 'drop-database' } }), 400, 'VALIDATION_FAILED', [/body\.operation: /, /deploy-migrations/])
})

t.test('unknown fields: 400 naming the key', async (t) => {
  const top = assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', dryrun: true } }), 400, 'VALIDATION_FAILED', /"dryrun"/)
  t.match(top.error.message, /^invalid request: body: /, 'the path of a top-level problem is "body", not "body."')
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', source: { branch: 'main' } } }), 400, 'VALIDATION_FAILED', [/body\.source: /, /"branch"/])
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '1_a', sql: 'SELECT 1', checksum: 'x' }] } }), 400, 'VALIDATION_FAILED', [/body\.migrations\.0: /, /"checksum"/])
})

t.test('missing environment: 400 saying it is required', async (t) => {
  const body = assertError(t, await send('POST', '/deployments', { body: { dry_run: true } }), 400, 'VALIDATION_FAILED', [/body\.environment: /, /environment is required/])
  t.same((body.error.details as Array<{ path: string }>).map((d) => d.path), ['body.environment'])
  assertError(t, await send('POST', '/deployments', { body: { environment: '' } }), 400, 'VALIDATION_FAILED', [/body\.environment: /, /must not be empty/])
  assertError(t, await send('POST', '/deployments', { body: { environment: null } }), 400, 'VALIDATION_FAILED', [/body\.environment: /, /expected the name of a configured environment as a string/])
})

t.test('a body over the configured limit: 413 naming the limit', async (t) => {
  const sql = `-- ${'x'.repeat(3000)}\nSELECT 1;`
  const response = await send('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '20250101000000_big', sql }] } })
  assertError(t, response, 413, 'PAYLOAD_TOO_LARGE', [/2048 bytes/, /limits\.body_bytes/])
  // Just under the limit is accepted.
  const small = await send('POST', '/deployments', { body: { environment: 'dev', dry_run: true, migrations: [{ name: '20250101000000_small', sql: `-- ${'x'.repeat(1500)}\nSELECT 1;` }] } })
  t.equal(small.statusCode, 202, small.body)
  t.equal((await h.waitFor(small.json().id, ['succeeded', 'failed'])).status, 'succeeded')
})

t.test('unknown deployment id: 404 on every route that takes one', async (t) => {
  const id = 'dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6'
  const message = new RegExp(`deployment ${id} not found`)
  assertError(t, await send('GET', `/deployments/${id}`), 404, 'NOT_FOUND', message)
  assertError(t, await send('GET', `/deployments/${id}/log`), 404, 'NOT_FOUND', message)
  assertError(t, await send('GET', `/deployments/${id}/events`), 404, 'NOT_FOUND', message)
  assertError(t, await send('POST', `/deployments/${id}/approve`, { as: 'alice', body: {} }), 404, 'NOT_FOUND', message)
  assertError(t, await send('POST', `/deployments/${id}/approve`, { as: 'alice' }), 404, 'NOT_FOUND', message)
  assertError(t, await send('POST', `/deployments/${id}/reject`, { as: 'alice', body: { reason: 'no' } }), 404, 'NOT_FOUND', message)
  assertError(t, await send('POST', `/deployments/${id}/cancel`), 404, 'NOT_FOUND', message)
})

t.test('unknown route: 404 with the error shape', async (t) => {
  assertError(t, await send('GET', '/deploymentz'), 404, 'NOT_FOUND', [/GET \/deploymentz/, /\/docs/])
  assertError(t, await send('DELETE', '/deployments/dep_x?force=1'), 404, 'NOT_FOUND', /DELETE \/deployments\/dep_x;/)
  assertError(t, await send('GET', '/nowhere', { as: null }), 404, 'NOT_FOUND', /GET \/nowhere/)
})

t.test('authentication and roles: 401 without a valid token, 403 without the role', async (t) => {
  assertError(t, await send('GET', '/deployments', { as: null }), 401, 'UNAUTHORIZED', /Authorization: Bearer <token>/)
  assertError(t, await send('GET', '/deployments', { as: null, headers: { authorization: 'Bearer not-a-token' } }), 401, 'UNAUTHORIZED', /not valid/)
  assertError(t, await send('GET', '/deployments', { as: null, headers: { authorization: 'Basic Y2ktYm90OnB3' } }), 401, 'UNAUTHORIZED', /Bearer/)
  // Authentication comes before validation: an anonymous bad body learns nothing about the API.
  assertError(t, await send('POST', '/deployments', { as: null, body: { environment: 5 } }), 401, 'UNAUTHORIZED', /Bearer/)
  assertError(t, await send('POST', '/deployments', { as: 'viewer', body: { environment: 'dev' } }), 403, 'FORBIDDEN', [/viewer/, /deployer/])
  assertError(t, await send('POST', '/deployments/dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6/approve', { as: 'ci-bot', body: {} }), 403, 'FORBIDDEN', [/ci-bot/, /approver/])
})

t.test('working_directory outside the workspace: 400', async (t) => {
  const dotdot = assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: '../etc' } }), 400, 'INVALID_WORKING_DIRECTORY', [/"\.\.\/etc"/, /relative to the workspace root/])
  t.notMatch(dotdot.error.message, workspace, 'the server\'s paths are not disclosed')
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'app/../../etc' } }), 400, 'INVALID_WORKING_DIRECTORY', /contains "\.\."/)
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: '/etc' } }), 400, 'INVALID_WORKING_DIRECTORY', [/"\/etc"/, /outside the workspace root/])
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'escape' } }), 400, 'INVALID_WORKING_DIRECTORY', [/"escape"/, /symlink out of the workspace/])
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'etc-link' } }), 400, 'INVALID_WORKING_DIRECTORY', /symlink out of the workspace/)
  const count = await h.runtime.pool.query('SELECT count(*)::int AS n FROM deployments WHERE working_directory IS NOT NULL')
  t.equal(count.rows[0].n, 0, 'a refused request records no deployment')
})

t.test('working_directory that does not exist or holds no migrations: 400', async (t) => {
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'no-such-folder' } }), 400, 'INVALID_WORKING_DIRECTORY', /"no-such-folder" does not exist/)
  const empty = assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'empty' } }), 400, 'NO_MIGRATIONS_FOUND', [/no Prisma migrations found in empty/, /prisma\/migrations\/<timestamp>_<name>\/migration\.sql/])
  t.notMatch(empty.error.message, workspace, 'the server\'s paths are not disclosed')
  // A migration folder itself is not a migrations folder: it holds a file, not <name>/migration.sql folders.
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'app/prisma/migrations/20250110090000_init' } }), 400, 'NO_MIGRATIONS_FOUND', /no Prisma migrations found/)
})

t.test('inline migrations: bad names, duplicates, and both sources at once: 400', async (t) => {
  for (const [index, name] of ['abc', '1-foo', '_1_foo', '20250101_', '20250101_a/b'].entries()) {
    const body = assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '20250101000000_ok', sql: 'SELECT 1;' }, { name, sql: 'SELECT 1;' }] } }), 400, 'VALIDATION_FAILED', [/body\.migrations\.1\.name: /, /20250124140000_add_user_profiles/])
    t.same((body.error.details as Array<{ path: string }>).map((d) => d.path), ['body.migrations.1.name'], `name #${index} ${JSON.stringify(name)} is refused`)
  }
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '20250101000000_a', sql: 'SELECT 1;' }, { name: '20250101000000_a', sql: 'SELECT 2;' }] } }), 400, 'DUPLICATE_MIGRATION', [/"20250101000000_a" appears twice/, /unique/])
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', working_directory: 'app', migrations: [{ name: '20250101000000_a', sql: 'SELECT 1;' }] } }), 400, 'BAD_REQUEST', /either "migrations" \(inline\) or "working_directory", not both/)
  assertError(t, await send('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '20250101000000_a' }] } }), 400, 'VALIDATION_FAILED', /body\.migrations\.0\.sql: /)
})

t.test('the seed\'s envelope form is accepted and deploys', async (t) => {
  const created = await send('POST', '/deployments', { body: { operation: 'deploy-migrations', parameters: { environment: 'dev' } } })
  t.equal(created.statusCode, 202, created.body)
  t.equal(created.json().environment, 'dev')
  t.equal(created.json().operation, 'deploy-migrations')
  t.equal(created.json().dry_run, false)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 5)
  // Inside the envelope the same validation applies, with the same paths.
  assertError(t, await send('POST', '/deployments', { body: { operation: 'deploy-migrations', parameters: { environment: 'nope' } } }), 400, 'UNKNOWN_ENVIRONMENT', /valid environments: dev, staging, production/)
  assertError(t, await send('POST', '/deployments', { body: { operation: 'deploy-migrations', parameters: { environment: 'dev', dry_run: 'yes' } } }), 400, 'VALIDATION_FAILED', /body\.dry_run: /)
})

t.test('invalid list queries: 400 naming the parameter', async (t) => {
  assertError(t, await send('GET', '/deployments?limit=0'), 400, 'VALIDATION_FAILED', /querystring\.limit: /)
  assertError(t, await send('GET', '/deployments?limit=201'), 400, 'VALIDATION_FAILED', /querystring\.limit: /)
  assertError(t, await send('GET', '/deployments?limit=ten'), 400, 'VALIDATION_FAILED', /querystring\.limit: /)
  assertError(t, await send('GET', '/deployments?status=bogus'), 400, 'VALIDATION_FAILED', [/querystring\.status: /, /succeeded/])
  assertError(t, await send('GET', '/deployments?sort=asc'), 400, 'VALIDATION_FAILED', /"sort"/)
  assertError(t, await send('GET', '/deployments?cursor=not-a-cursor'), 400, 'INVALID_CURSOR', /next_cursor of a previous page/)
  assertError(t, await send('GET', `/deployments?cursor=${Buffer.from('yesterday|dep_1').toString('base64url')}`), 400, 'INVALID_CURSOR', /cursor is not valid/)
})

t.test('cursor paging of GET /deployments: newest first, each deployment once', async (t) => {
  const created: string[] = []
  for (let i = 0; i < 3; i++) {
    const response = await send('POST', '/deployments', { body: { environment: 'staging', dry_run: true, source: { commit: `c${i}` } } })
    t.equal(response.statusCode, 202, response.body)
    created.push(response.json().id)
  }
  const first = await send('GET', '/deployments?environment=staging&limit=2', { as: 'viewer' })
  t.equal(first.statusCode, 200, first.body)
  const page1 = first.json<{ deployments: Array<{ id: string, created_at: string }>, next_cursor: string | null }>()
  t.same(page1.deployments.map((d) => d.id), [created[2], created[1]])
  t.type(page1.next_cursor, 'string')
  const second = await send('GET', `/deployments?environment=staging&limit=2&cursor=${encodeURIComponent(page1.next_cursor as string)}`, { as: 'viewer' })
  t.equal(second.statusCode, 200, second.body)
  const page2 = second.json<{ deployments: Array<{ id: string }>, next_cursor: string | null }>()
  t.same(page2.deployments.map((d) => d.id), [created[0]])
  t.equal(page2.next_cursor, null, 'the last page has no cursor')
  const seen = [...page1.deployments, ...page2.deployments].map((d) => d.id)
  t.equal(new Set(seen).size, 3, 'each deployment seen once')
  t.same(seen, [...created].reverse(), 'newest first')

  // An exact page boundary ends with next_cursor null too, not with an empty page.
  const exact = (await send('GET', '/deployments?environment=staging&limit=3')).json<{ deployments: unknown[], next_cursor: string | null }>()
  t.equal(exact.deployments.length, 3)
  t.equal(exact.next_cursor, null)
  for (const id of created) t.equal((await h.waitFor(id, ['succeeded', 'failed'])).status, 'succeeded')
})

t.test('no response leaks a stack trace or the database password', async (t) => {
  const url = Object.values(h.runtime.pipeline.env).find((value) => value?.startsWith('postgres'))
  t.ok(url, 'a target URL is configured')
  const password = decodeURIComponent(new URL(url as string).password)
  t.ok(password.length >= 4, 'the test database has a password to look for')
  t.ok(responses.length > 50, `checked ${responses.length} responses`)
  for (const response of responses) {
    t.notOk(response.body.includes('    at '), `no stack trace in ${response.statusCode} ${response.body.slice(0, 80)}`)
    t.notOk(response.body.includes(password), `no password in ${response.statusCode} ${response.body.slice(0, 80)}`)
  }
})
