import { Agent, request as httpRequest } from 'node:http'
import fc from 'fast-check'
import t from 'tap'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { startHarness, tokenOf, TOKENS, type Harness, type TokenName } from '../helpers/harness.js'

/**
 * Property: whatever a client sends — any method, path (real ids included), headers and body,
 * valid JSON or junk — the API answers without a 5xx, the process stays up, and every 4xx has
 * exactly the error shape of SPEC §4: `{"error": {"code", "message", "details"?}}`.
 *
 * Requests go over real HTTP (not inject, which normalises paths the way a browser would), so
 * the router sees the raw bytes a hostile client sends.
 */

const RUNS = 2000
const BODY_LIMIT = 4096

const h: Harness = await startHarness({
  worker: false,
  // No worker runs: the generated requests leave thousands of deployments queued, past the per-token limit.
  limits: { body_bytes: BODY_LIMIT, queued_per_token: 1_000_000 },
  environments: {
    dev: { working_directory: 'app' },
    staging: { working_directory: 'app' },
    production: { working_directory: 'app', protected: true, approval: { required_approvals: 2, roles: ['approver'] }, health_check: { checks: ['connectivity'], timeout: '5s' } },
    broken: { working_directory: 'broken-third' }
  }
})
t.teardown(h.close)

// Deployments in every kind of state, so generated requests hit real rows.
async function deployment (environment: string, run: boolean): Promise<string> {
  const created = await h.request('POST', '/deployments', { body: { environment } })
  const id = created.json<{ id: string }>().id
  if (run) await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  return id
}
const ids = [
  await deployment('production', true), // pending_approval
  await deployment('staging', true), // succeeded
  await deployment('broken', true), // failed
  await deployment('dev', false) // queued
]

const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~'.split('')), maxLength: 40 })
const weird = fc.oneof(
  printable,
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '..', '%', '%zz', '%00', 'a\u0000b', '\u0000', '%2e%2e', '%2F', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(300), '\u202e', '😀', 'null', '-1', '0', '1e999', '__proto__', 'constructor')
)
const id = fc.oneof(fc.constantFrom(...ids), fc.constantFrom('dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6', 'dep_', 'x'), weird)
const environment = fc.oneof(fc.constantFrom('dev', 'staging', 'production', 'broken', 'prod', 'DEV'), weird)
const migration = fc.oneof(fc.constantFrom('20250110090000_init', '20250203090000_add_tags', '1_x'), weird)
/** Percent-encodes what an HTTP client cannot send raw (spaces, non-ASCII), leaving hostile ASCII (`%`, `..`, `\\`) as it is. */
const rawSegment = (segment: string): string => segment.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
const encode = (segment: string, raw: boolean): string => raw ? rawSegment(segment) : encodeURIComponent(segment)

const path = fc.oneof(
  fc.constantFrom('/deployments', '/environments', '/healthz', '/readyz', '/openapi.json', '/docs', '/', '/metrics', '/deployments/'),
  fc.tuple(id, fc.constantFrom('', '/approve', '/reject', '/cancel', '/log', '/events', '/nope'), fc.boolean()).map(([i, suffix, raw]) => `/deployments/${encode(i, raw)}${suffix}`),
  fc.tuple(environment, fc.boolean()).map(([e, raw]) => `/environments/${encode(e, raw)}/status`),
  fc.tuple(environment, migration, fc.boolean()).map(([e, m, raw]) => `/environments/${encode(e, raw)}/migrations/${encode(m, raw)}/resolve`),
  fc.array(weird, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.map(rawSegment).join('/')}`)
)
const query = fc.option(fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'status', 'cursor', 'environment'), printable), weird), { maxLength: 3 })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')), { nil: undefined })

const tokenNames = Object.keys(TOKENS) as TokenName[]
const authorization = fc.oneof(
  fc.constantFrom(...tokenNames).map((name) => `Bearer ${tokenOf(name)}`),
  fc.constant(undefined),
  printable,
  printable.map((s) => `Bearer ${s}`)
)
const contentType = fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', undefined), printable)

const deploymentBody = fc.record({
  operation: fc.oneof(fc.constantFrom('deploy-migrations', 'preview-migrations', 'restore-backup'), weird),
  environment,
  dry_run: fc.oneof(fc.boolean(), fc.jsonValue()),
  skip_backup: fc.boolean(),
  skip_health_check: fc.boolean(),
  working_directory: fc.oneof(fc.constantFrom('app', 'app-next', '../etc', '/etc', 'app/../..', 'broken-third', 'nope'), weird),
  migrations: fc.array(fc.record({ name: fc.oneof(migration, fc.constantFrom('20250101000000_a')), sql: fc.oneof(fc.constantFrom('SELECT 1;', 'DROP TABLE x;'), printable) }, { requiredKeys: [] }), { maxLength: 3 }),
  source: fc.record({ commit: printable, ref: printable, url: weird }, { requiredKeys: [] }),
  parameters: fc.dictionary(printable, fc.jsonValue(), { maxKeys: 3 }),
  reason: weird,
  comment: weird,
  as: fc.oneof(fc.constantFrom('applied', 'rolled_back'), weird)
}, { requiredKeys: [] })
const body = fc.oneof(
  fc.constant(undefined),
  deploymentBody.map((b) => JSON.stringify(b)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.json(),
  printable,
  fc.constantFrom('{', '{"environment":', '[]', 'null', '"', '{"__proto__":{"admin":true}}', '{"environment":"dev","constructor":{"prototype":{}}}', '\u0000', 'x'.repeat(BODY_LIMIT + 1), `{"environment":"dev","source":{"commit":"${'a'.repeat(BODY_LIMIT)}"}}`)
)
const anything = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  query,
  authorization,
  contentType,
  body,
  extra: fc.dictionary(fc.constantFrom('idempotency-key', 'if-none-match', 'accept', 'x-forwarded-for', 'accept-encoding', 'x-request-id', 'cookie'), printable, { maxKeys: 3 })
})

// Requests a real client could send (the right method, a real token, JSON), with values that
// vary: these get past authentication and validation into the actions themselves.
const validToken = fc.constantFrom(...tokenNames).map((name) => `Bearer ${tokenOf(name)}`)
const plausibleCall = fc.oneof(
  fc.record({ method: fc.constant('POST'), path: fc.constant('/deployments'), body: fc.record({ environment: fc.constantFrom('dev', 'staging', 'production', 'broken', 'nope'), dry_run: fc.boolean(), skip_health_check: fc.boolean(), working_directory: fc.constantFrom('app', 'app-next', 'broken-third', '../x') }, { requiredKeys: ['environment'] }).map((b) => JSON.stringify(b)) }),
  fc.record({ method: fc.constant('POST'), path: fc.constant('/deployments'), body: fc.record({ environment: fc.constantFrom('dev', 'staging'), dry_run: fc.constant(true), migrations: fc.array(fc.record({ name: fc.constantFrom('20250101000000_a', '20250101000001_b', 'bad'), sql: fc.constantFrom('SELECT 1;', 'CREATE TABLE t (id int);', '') }), { maxLength: 3 }) }).map((b) => JSON.stringify(b)) }),
  fc.record({ method: fc.constant('GET'), path: fc.tuple(fc.constantFrom(...ids), fc.constantFrom('', '/log', '/events')).map(([i, s]) => `/deployments/${i}${s}`), body: fc.constant(undefined) }),
  fc.record({ method: fc.constant('POST'), path: fc.tuple(fc.constantFrom(...ids), fc.constantFrom('/approve', '/reject', '/cancel')).map(([i, s]) => `/deployments/${i}${s}`), body: fc.oneof(fc.constant(undefined), fc.record({ comment: printable }, { requiredKeys: [] }).map((b) => JSON.stringify(b)), fc.record({ reason: printable }).map((b) => JSON.stringify(b))) }),
  fc.record({ method: fc.constant('GET'), path: fc.constantFrom('/deployments', '/environments', '/environments/dev/status', '/environments/staging/status', '/environments/production/status', '/deployments?status=queued&limit=2', '/deployments?environment=dev'), body: fc.constant(undefined) }),
  fc.record({ method: fc.constant('POST'), path: fc.tuple(fc.constantFrom('dev', 'staging', 'broken'), migration).map(([e, m]) => `/environments/${e}/migrations/${encodeURIComponent(m)}/resolve`), body: fc.record({ as: fc.constantFrom('applied', 'rolled_back', 'sideways') }).map((b) => JSON.stringify(b)) })
)
const plausible = fc.tuple(plausibleCall, validToken).map(([call, auth]) => ({
  method: call.method, path: call.path, query: undefined, authorization: auth, contentType: 'application/json', body: call.body, extra: {} as Record<string, string>
}))
const request = fc.oneof({ weight: 1, arbitrary: plausible }, { weight: 3, arbitrary: anything })

interface Outcome { status: number, count: number }
interface Answer { status: number, contentType: string, body: string }

await h.app.listen({ port: 0, host: '127.0.0.1' })
const { port } = h.app.server.address() as { port: number }
const agent = new Agent({ keepAlive: true, maxSockets: 4 })
t.teardown(() => { agent.destroy() })

/** Sends one request as given; resolves undefined when Node's own client refuses to send it. */
async function send (method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer | undefined> {
  return await new Promise((resolve, reject) => {
    let req
    try {
      req = httpRequest({ agent, host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } })
    } catch {
      resolve(undefined) // an invalid path or header value: refused by the client, never sent
      return
    }
    req.setTimeout(15_000, () => { req.destroy(new Error(`${method} ${path}: no answer within 15 s`)) })
    req.on('error', reject)
    req.on('response', (res) => {
      const contentType = String(res.headers['content-type'] ?? '')
      // A stream (Server-Sent Events) stays open by design: its status and type are the answer.
      if (contentType.startsWith('text/event-stream')) {
        res.destroy()
        resolve({ status: res.statusCode ?? 0, contentType, body: '' })
        return
      }
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.end(body)
  })
}

t.test(`${RUNS} generated requests: no 5xx, every 4xx has the SPEC §4 error shape`, async (t) => {
  const crashes: unknown[] = []
  const onCrash = (error: unknown): void => { crashes.push(error) }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  t.teardown(() => {
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
  })

  const statuses = new Map<number, Outcome>()
  let runs = 0
  let refusedByClient = 0
  const started = performance.now()
  await fc.assert(fc.asyncProperty(request, async (r) => {
    runs++
    const headers: Record<string, string> = { ...r.extra }
    if (r.authorization !== undefined) headers.authorization = r.authorization
    if (r.contentType !== undefined && r.body !== undefined) headers['content-type'] = r.contentType
    const url = r.query === undefined ? r.path : `${r.path}?${r.query}`
    const response = await send(r.method, url, headers, r.body)
    if (response === undefined) { refusedByClient++; return }
    const outcome = statuses.get(response.status) ?? { status: response.status, count: 0 }
    outcome.count++
    statuses.set(response.status, outcome)
    if (response.status >= 500) throw new Error(`${r.method} ${url} → ${response.status}: ${response.body.slice(0, 300)}`)
    if (response.status >= 400 && r.method !== 'HEAD') {
      if (!response.contentType.startsWith('application/json')) throw new Error(`${r.method} ${url} → ${response.status} as ${response.contentType}`)
      let parsed: unknown
      try {
        parsed = JSON.parse(response.body)
      } catch {
        throw new Error(`${r.method} ${url} → ${response.status} with a body that is not JSON: ${response.body.slice(0, 200)}`)
      }
      assertErrorShape(parsed, `${r.method} ${url} → ${response.status}`)
    }
  }), { numRuns: RUNS })

  t.equal(runs >= RUNS, true, `${runs} requests in ${Math.round(performance.now() - started)} ms`)
  t.ok(refusedByClient < runs * 0.05, `${refusedByClient} requests Node's client would not send`)
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
  const seen = [...statuses.values()].sort((a, b) => a.status - b.status)
  t.comment(`statuses: ${seen.map((s) => `${s.status}×${s.count}`).join(' ')}`)
  // The generator reaches deep: successes and every kind of refusal, not just 404s.
  for (const status of [200, 202, 400, 401, 403, 404]) t.ok(statuses.has(status), `some requests got ${status}`)
})

t.test('the process is still up and working afterwards', async (t) => {
  t.equal((await h.request('GET', '/healthz', { as: null })).statusCode, 200)
  const ready = await h.request('GET', '/readyz', { as: null })
  t.equal(ready.statusCode, 200, ready.body)
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true } })
  t.equal(created.statusCode, 202, created.body)
  const id = created.json<{ id: string }>().id
  await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  t.equal((await h.request('GET', `/deployments/${id}`)).json<{ status: string }>().status, 'succeeded')
})

function assertErrorShape (value: unknown, where: string): void {
  const fail = (why: string): never => { throw new Error(`${where}: ${why}: ${JSON.stringify(value).slice(0, 300)}`) }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('not an object')
  const top = Object.keys(value as object)
  if (top.length !== 1 || top[0] !== 'error') fail('keys are not exactly ["error"]')
  const error = (value as { error: unknown }).error
  if (error === null || typeof error !== 'object' || Array.isArray(error)) fail('error is not an object')
  const keys = Object.keys(error as object).sort().join()
  if (keys !== 'code,message' && keys !== 'code,details,message') fail(`error keys are ${keys}`)
  const { code, message } = error as { code: unknown, message: unknown }
  if (typeof code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(code)) fail('code is not an UPPER_SNAKE string')
  if (typeof message !== 'string' || message.length === 0) fail('message is not a non-empty string')
}
