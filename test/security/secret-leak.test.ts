import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createServer } from 'node:net'
import { spawn } from 'node:child_process'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { ArgvSampler } from '../helpers/argv-sampler.js'
import { adminUrl, queryDatabase } from '../helpers/databases.js'
import { startHarness, tokenOf, TOKENS, type Harness, type TokenName } from '../helpers/harness.js'
import { githubClaims, startTestIssuer } from '../helpers/oidc-issuer.js'
import type { SsoRuntime } from '../../src/api/plugins/sessions.js'

/**
 * No database password or full URL ever leaves the process: the environments connect as a
 * PostgreSQL role with a unique random password, every flow runs (success through approval,
 * a failing migration, an unreachable server, a refused password, a malformed URL), and then
 * every response body and header, every row of every control-database table, every job left in
 * the queue, every log line, every human log and every process argv sampled while the flows ran
 * are searched for the password and the URLs: zero occurrences.
 *
 * Each flow is one row of FLOWS: an environment config, how its URL is made, and the status it
 * must end in. A flow that runs external tools (pg_dump, pg_restore) lists them in `processes`,
 * and the test then also proves the sampler saw them running.
 *
 * Credentials of callers are searched for too: every static token's plaintext, the OIDC tokens
 * CI presented (whole, and their signatures), and the SSO session ids and CSRF tokens of the
 * people who approved (the `identity` flow deploys with an OIDC token and approves through a
 * session). Redis is searched for session ids: it keeps only their hashes.
 */

type UrlKind = 'role' | 'unreachable' | 'wrong_password' | 'malformed'
interface LeakFlow {
  environment: Record<string, unknown>
  url: UrlKind
  expect: 'succeeded' | 'failed'
  /** External programs the flow must run (their argv is sampled while they run). */
  processes?: string[]
  /** Deploy with a CI job's OIDC token and approve through a person's SSO session (default: static tokens). */
  identity?: boolean
}

const approval = { required_approvals: 1, roles: ['approver'], expires_after: '1h' }
// Protected environments back up with pg_dump before applying (and restore on failure).
const backupDir = mkdtempSync(path.join(tmpdir(), 'md-leak-backups-'))
t.teardown(() => { rmSync(backupDir, { recursive: true, force: true }) })
const backup = { backup_before_migrate: true, backup: { provider: 'pg_dump', dir: backupDir }, on_failure: 'restore_backup' }
const FLOWS: Record<string, LeakFlow> = {
  success: { environment: { working_directory: 'app', protected: true, approval, ...backup }, url: 'role', expect: 'succeeded', processes: ['pg_dump'] },
  identity: { environment: { working_directory: 'app', protected: true, approval }, url: 'role', expect: 'succeeded', identity: true },
  migration_failure: { environment: { working_directory: 'broken-third', protected: true, approval, ...backup }, url: 'role', expect: 'failed', processes: ['pg_dump', 'pg_restore'] },
  unreachable: { environment: { working_directory: 'app', health_check: { checks: ['connectivity'], timeout: '2s' } }, url: 'unreachable', expect: 'failed' },
  wrong_password: { environment: { working_directory: 'app' }, url: 'wrong_password', expect: 'failed' },
  malformed_url: { environment: { working_directory: 'app' }, url: 'malformed', expect: 'failed' }
}

// Characters that URLs must percent-encode, so both spellings of the password are searched for.
const suffix = randomBytes(6).toString('hex')
const role = `md_leak_${suffix}`
const password = `Pw_${randomBytes(12).toString('hex')}@:/?x`
const wrongPassword = `Wrong_${randomBytes(12).toString('hex')}`

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

function urlFor (kind: UrlKind, database: string, port: number): string {
  const server = new URL(adminUrl())
  const host = `${server.hostname}:${server.port === '' ? '5432' : server.port}`
  switch (kind) {
    case 'role': return `postgres://${role}:${encodeURIComponent(password)}@${host}/${database}`
    case 'unreachable': return `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`
    case 'wrong_password': return `postgres://${role}:${encodeURIComponent(wrongPassword)}@${host}/${database}`
    case 'malformed': return `postgres://${role}:${encodeURIComponent(password)}@${host}:99999/${database}`
  }
}

await queryDatabase('postgres', `CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`)
const issuer = await startTestIssuer({ audience: 'migration-deployer' })
const h: Harness = await startHarness({
  environments: Object.fromEntries(Object.entries(FLOWS).map(([name, flow]) => [name, flow.environment])),
  auth: {
    oidc: [{ name: 'github', issuer: issuer.issuer, audience: 'migration-deployer', rules: [{ match: { repository_id: '42' }, principal: '{repository}@{ref}', roles: ['deployer'], person: '{actor}' }] }],
    sso: { issuer: 'http://127.0.0.1:9/', client_id: 'deployer', redirect_url: 'http://127.0.0.1:3000/auth/sso/callback', group_roles: { 'release-managers': ['approver'] } }
  }
})
t.teardown(async () => {
  await issuer.close()
  await h.close()
  await queryDatabase('postgres', `DROP ROLE IF EXISTS "${role}"`)
})

// Point every environment at the role, the way an operator sets the variables the config names.
const port = await closedPort()
const urls: string[] = []
for (const [name, flow] of Object.entries(FLOWS)) {
  const database = h.targets[name] as string
  await queryDatabase('postgres', `ALTER DATABASE "${database}" OWNER TO "${role}"`)
  const url = urlFor(flow.url, database, port)
  urls.push(url)
  h.runtime.pipeline.env[h.config.environments[name]?.database_url_env as string] = url
}

const controlPassword = decodeURIComponent(new URL(adminUrl()).password)
const needles = [password, encodeURIComponent(password), wrongPassword, ...urls, ...(controlPassword.length >= 4 ? [controlPassword] : [])]
// Callers' credentials, by what they are (the flows add the OIDC tokens and sessions they use).
const credentials = new Map<string, string>(Object.keys(TOKENS).map((name) => [tokenOf(name as TokenName), 'a static token']))
const sessionIds: string[] = []

const responses: LightMyRequestResponse[] = []
const send: Harness['request'] = async (...args) => {
  const response = await h.request(...args)
  responses.push(response)
  return response
}

function occurrences (text: string): string[] {
  const found: string[] = needles.filter((needle) => text.includes(needle)).map((needle) => needle === password || needle === wrongPassword || needle === controlPassword ? 'a password' : needle === encodeURIComponent(password) ? 'the encoded password' : 'a full URL')
  for (const [credential, what] of credentials) if (text.includes(credential)) found.push(what)
  return found
}

/** Deploys with a CI job's OIDC token, and approves through a person's SSO session with its CSRF token. */
async function identityFlow (t: Test, name: string): Promise<string> {
  const jwt = await issuer.token(githubClaims({ environment: name }))
  credentials.set(jwt, 'an OIDC token')
  credentials.set(jwt.split('.')[2] as string, 'an OIDC token\'s signature')
  const created = await h.app.inject({ method: 'POST', url: '/deployments', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, payload: JSON.stringify({ environment: name }) })
  responses.push(created)
  t.equal(created.statusCode, 202, created.body)
  const id = created.json<{ id: string }>().id
  t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval')
  const sso = h.app.sso as SsoRuntime
  const session = await sso.store.create(sso.client.principalOf({ sub: 'sub-mona', preferred_username: 'mona', groups: ['release-managers'] }))
  sessionIds.push(session.id)
  credentials.set(session.id, 'a session id')
  credentials.set(session.session.csrf, 'a CSRF token')
  for (const headers of [{}, { 'x-csrf-token': session.session.csrf }]) {
    const approved = await h.app.inject({ method: 'POST', url: `/deployments/${id}/approve`, headers: { cookie: `md_session=${session.id}`, 'content-type': 'application/json', ...headers }, payload: '{}' })
    responses.push(approved)
    t.equal(approved.statusCode, 'x-csrf-token' in headers ? 200 : 403, 'without, then with the CSRF token')
  }
  const out = await h.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: `md_session=${session.id}`, 'x-csrf-token': session.session.csrf } })
  responses.push(out)
  t.equal(out.statusCode, 204)
  return id
}

const sampler = new ArgvSampler()

t.test('the sampler sees short-lived processes and their arguments', async (t) => {
  sampler.start()
  const marker = `argv-marker-${suffix}`
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 150)', marker])
    child.on('exit', () => { resolve() })
    child.on('error', reject)
  })
  sampler.sample()
  t.ok([...sampler.seen.values()].some((p) => p.argv.includes(marker)), 'a 150 ms process was sampled with its arguments')
})

for (const [name, flow] of Object.entries(FLOWS)) {
  t.test(`flow ${name}: ends ${flow.expect}`, async (t) => {
    let id: string
    if (flow.identity === true) {
      id = await identityFlow(t, name)
    } else {
      const created = await send('POST', '/deployments', { body: { environment: name, source: { commit: 'abc123' } } })
      t.equal(created.statusCode, 202, created.body)
      id = created.json<{ id: string }>().id
    }
    let deployment: DeploymentResource = await h.waitFor(id, ['pending_approval', 'succeeded', 'failed'])
    if (deployment.status === 'pending_approval') {
      t.equal((await send('POST', `/deployments/${id}/approve`, { as: 'alice', body: { comment: 'reviewed' } })).statusCode, 200)
      deployment = await h.waitFor(id, ['succeeded', 'failed'])
    }
    t.equal(deployment.status, flow.expect, JSON.stringify(deployment.report))
    // Read it back every way the API offers, and touch the environment routes that connect to it.
    for (const url of [`/deployments/${id}`, `/deployments/${id}/log`, `/deployments/${id}/events`, `/deployments?environment=${name}`, '/environments', `/environments/${name}/status`]) {
      const response = await send('GET', url, { as: 'viewer' })
      t.ok(response.statusCode < 500 || response.statusCode === 503, `GET ${url}: ${response.statusCode}`)
    }
    await send('POST', `/environments/${name}/migrations/20250203090000_add_tags/resolve`, { as: 'alice', body: { as: 'rolled_back' } })
    for (const program of flow.processes ?? []) {
      t.ok(sampler.processesNamed(program).length > 0, `${program} ran and its argv was sampled`)
    }
  })
}

t.test('zero occurrences of a password or a URL anywhere', async (t) => {
  sampler.stop()
  t.ok(needles.length >= 7, `${needles.length} secrets to look for`)

  // The flows failed for the reasons intended (so the scan covers the drivers' own errors).
  const reports = await h.runtime.pool.query<{ environment: string, report: { error?: string, result?: { details?: Array<{ message: string }> } } }>('SELECT environment, report FROM deployments')
  const byEnvironment = Object.fromEntries(reports.rows.map((r) => [r.environment, JSON.stringify(r.report)]))
  t.match(byEnvironment.unreachable, /ECONNREFUSED/, 'unreachable: the driver\'s connection error is reported')
  t.match(byEnvironment.wrong_password, /password authentication failed/, 'wrong password: the server\'s refusal is reported')
  t.match(byEnvironment.migration_failure, /Migration 20250203090000_add_tags failed/)

  t.ok(responses.length >= 30, `${responses.length} responses`)
  for (const response of responses) {
    const text = `${JSON.stringify(response.headers)}\n${response.body}`
    t.same(occurrences(text), [], `response ${response.raw.req.method ?? ''} ${response.raw.req.url ?? ''}`)
  }

  const { rows: tables } = await h.runtime.pool.query<{ name: string }>(`SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'`)
  t.ok(tables.some((table) => table.name === 'deployment_events'))
  let rowCount = 0
  for (const table of tables) {
    const { rows } = await h.runtime.pool.query<{ row: unknown }>(`SELECT row_to_json(t) AS row FROM ${table.name} t`)
    rowCount += rows.length
    t.same(occurrences(JSON.stringify(rows)), [], `control database table ${table.name} (${rows.length} rows)`)
  }
  t.ok(rowCount > 50, `${rowCount} control-database rows`)

  t.ok(sessionIds.length > 0 && [...credentials.values()].includes('an OIDC token'), 'the identity flow ran: OIDC tokens and sessions are searched for')
  const redisKeys = await h.runtime.redis.keys(`${h.runtime.queue.name}:*`)
  const sessionValues = await Promise.all(redisKeys.filter((key) => key.includes(':sso:')).map(async (key) => await h.runtime.redis.get(key)))
  t.same(sessionIds.filter((id) => `${redisKeys.join('\n')}\n${sessionValues.join('\n')}`.includes(id)), [], `Redis holds no session id (${redisKeys.length} keys)`)

  const jobs = await h.runtime.queue.getJobs(['completed', 'failed', 'delayed', 'waiting', 'active'])
  t.same(occurrences(JSON.stringify(jobs.map((job) => job.asJSON()))), [], `${jobs.length} queue jobs`)

  t.ok(h.logLines.length > 20, `${h.logLines.length} log lines`)
  t.same(occurrences(h.logLines.join('\n')), [], 'log lines')

  for (const name of Object.keys(FLOWS)) {
    const { rows } = await h.runtime.pool.query<{ id: string }>('SELECT id FROM deployments WHERE environment = $1', [name])
    for (const { id } of rows) {
      const log = (await h.request('GET', `/deployments/${id}/log`, { as: 'viewer' })).body
      t.ok(log.length > 0)
      t.same(occurrences(log), [], `human log of ${name}`)
    }
  }

  t.ok(sampler.samples > 10, `${sampler.samples} process samples, ${sampler.seen.size} command lines`)
  // Only this test's own secrets: the shared control-database password may sit in the argv of
  // processes this test did not start (an operator's psql on the same machine).
  const ownNeedles = needles.filter((needle) => needle !== controlPassword)
  const offenders = [...sampler.seen.values()].filter((p) => ownNeedles.some((needle) => p.argv.join(' ').includes(needle)))
  t.same(offenders.map((p) => `pid ${p.pid}: ${p.argv[0] ?? ''}`), [], 'process arguments')
})
