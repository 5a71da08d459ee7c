import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { handlerFor } from '../../src/handlers/index.js'
import { runHealthChecks, type HealthCheckInput } from '../../src/pipeline/steps/health-check.js'
import { KeptTargetSessions } from '../../src/pipeline/steps/kept-target-sessions.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { until } from '../helpers/until.js'

/** The health check's target connections, kept between checks (issue 23): reused only when that is as good as a new one. */

const environmentWith = (healthCheck: Record<string, unknown> = {}): HealthCheckInput['environment'] => {
  const environment = parseConfig({ environments: { dev: { database_url_env: 'UNUSED', health_check: { checks: ['connectivity', 'schema', 'migrations'], ...healthCheck } } } }, '/')
    .environments.dev
  if (environment === undefined) throw new Error('no environment')
  return environment
}

/** The pids of the health check's sessions on `database` (what an operator sees in pg_stat_activity). */
const healthSessions = async (database: string): Promise<number[]> =>
  (await queryDatabase<{ pid: number }>(database, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'migration-deployer health' ORDER BY pid"))
    .map((row) => row.pid)

/** Waits until the sessions are exactly `pids` (a closed connection's backend leaves a moment after its socket). */
const sessionsBecome = async (database: string, pids: number[], what: string): Promise<number[]> =>
  await until(async () => {
    const now = await healthSessions(database)
    return JSON.stringify(now) === JSON.stringify(pids) ? now : undefined
  }, what, 10_000, 10)

t.test('the health check keeps its connection for the next check of the same target', async (t) => {
  const databases = await Promise.all([createEmptyDatabase(), createEmptyDatabase(), createEmptyDatabase(), createEmptyDatabase()])
  t.teardown(async () => { await Promise.all(databases.map(dropDatabase)) })
  const [first, second, third, broken] = databases as [string, string, string, string]
  const environment = environmentWith()
  const check = (sessions: KeptTargetSessions, database: string, more: Partial<HealthCheckInput> = {}): ReturnType<typeof runHealthChecks> =>
    runHealthChecks({ databaseUrl: databaseUrl(database), environment, handler: handlerFor(environment), source: [], sessions, ...more })
  const connectivity = (result: Awaited<ReturnType<typeof runHealthChecks>>): string | undefined => result.details.find((d) => d.check === 'connectivity')?.message

  await t.test('a second check runs on the first one\'s connection, and says so', async (t) => {
    const sessions = new KeptTargetSessions(4)
    t.teardown(async () => { await sessions.close() })
    const before = await check(sessions, first)
    t.ok(before.passed, 'the first check passes')
    t.match(connectivity(before), /^connected and ran SELECT 1 in \d+ ms$/)
    const [pid] = await healthSessions(first)
    t.ok(pid !== undefined, 'its connection stays open, idle')
    const again = await check(sessions, first)
    t.ok(again.passed)
    t.match(connectivity(again), /^ran SELECT 1 in \d+ ms on the connection of the check \d+\.\d s before$/)
    t.same(await healthSessions(first), [pid], 'the same backend: no new connection')
    await sessions.close()
    await sessionsBecome(first, [], 'closing the store closes the kept connection')
  })

  await t.test('a kept connection that died is replaced by a new one, and the check still passes', async (t) => {
    const sessions = new KeptTargetSessions(4)
    t.teardown(async () => { await sessions.close() })
    await check(sessions, first)
    const [pid] = await healthSessions(first)
    await queryDatabase(first, 'SELECT pg_terminate_backend($1)', [pid])
    await sessionsBecome(first, [], 'the kept backend is gone')
    const after = await check(sessions, first)
    t.ok(after.passed, 'a dead kept connection is not a failed check')
    t.match(connectivity(after), /^connected and ran SELECT 1/, 'it connected anew')
    t.equal((await healthSessions(first)).length, 1)
  })

  await t.test('not kept: custom SQL checks ran on it, or a check failed; not reused after migrations ran', async (t) => {
    const sessions = new KeptTargetSessions(4)
    t.teardown(async () => { await sessions.close() })
    const custom = await check(sessions, first, { environment: environmentWith({ sql: [{ name: 'tz', query: "SET TIME ZONE 'UTC'" }] }) })
    t.ok(custom.passed)
    await sessionsBecome(first, [], 'a session that ran custom SQL (which may change it) is closed')

    await queryDatabase(broken, 'CREATE TABLE _prisma_migrations (unrelated integer)')
    const failed = await check(sessions, broken)
    t.notOk(failed.passed, 'an unreadable history table fails the check')
    await sessionsBecome(broken, [], 'a session whose check failed is closed')

    await check(sessions, third)
    const [kept] = await healthSessions(third)
    const after = await check(sessions, third, { reuse: false })
    t.match(connectivity(after), /^connected and ran SELECT 1/, 'a check with reuse: false connects anew')
    const fresh = await until(async () => { const now = await healthSessions(third); return now.length === 1 && now[0] !== kept ? now[0] : undefined },
      'the new connection is kept in place of the older one, which is closed', 10_000, 10)
    const again = await check(sessions, third)
    t.match(connectivity(again), /on the connection of the check/)
    t.same(await healthSessions(third), [fresh], 'the next check runs on the newer connection')
  })

  await t.test('at most maxKept connections, the oldest closed first', async (t) => {
    const sessions = new KeptTargetSessions(2)
    t.teardown(async () => { await sessions.close() })
    await check(sessions, first)
    await check(sessions, second)
    await check(sessions, third)
    await sessionsBecome(first, [], 'the oldest kept connection is closed')
    t.equal((await healthSessions(second)).length, 1)
    t.equal((await healthSessions(third)).length, 1)
  })

  await t.test('a kept connection closes after idleMs', async (t) => {
    const sessions = new KeptTargetSessions(4, 200)
    t.teardown(async () => { await sessions.close() })
    await check(sessions, first)
    t.equal((await healthSessions(first)).length, 1)
    await sessionsBecome(first, [], 'closed once idle for longer than idleMs')
  })
})
