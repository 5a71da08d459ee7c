import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { queryDatabase } from '../helpers/databases.js'
import { startReconciler } from '../../src/worker.js'
import { freePorts, slowMigrations } from '../reliability/helpers/processes.js'
import { until } from '../helpers/until.js'
import { appliedCount } from '../reliability/helpers/target-state.js'
import { checkAccounting, type Posted } from './helpers/accounting.js'
import { startPostgresPair } from './helpers/postgres-pair.js'

// The control database on a primary and a synchronous hot standby (ports of this file's own),
// reached through one DATABASE_URL listing both with target_session_attrs=read-write. The
// primary crashes while deployments apply; the standby is promoted (pg_ctl promote).
const PORTS = await freePorts(2) as [number, number]
const HEALTH = { checks: ['connectivity'], timeout: '5s' }
const GATED = { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: HEALTH }
const environments: Record<string, Record<string, unknown>> = {
  apply0: { health_check: HEALTH },
  apply1: { health_check: HEALTH },
  apply2: { health_check: HEALTH },
  after: { health_check: HEALTH },
  gated0: GATED,
  gated1: GATED
}
const MIGRATIONS = slowMigrations(16, 0.05)

t.test('the control database primary crashes mid-apply and the standby is promoted: 503s in the gap, then everything completes, nothing lost or doubled', async (t) => {
  const pair = await startPostgresPair(PORTS, 'control')
  t.teardown(pair.close)
  const h = await startHarness({ environments, controlDatabaseUrl: pair.multiHostUrl('control'), reliability: { enqueueTimeoutMs: 1000 } })
  const reconciler = startReconciler(h.runtime.pipeline, 500)
  t.teardown(async () => {
    await reconciler.stop()
    await h.close()
  })
  const posted: Posted[] = []
  const post = async (environment: string, gated: boolean): Promise<string> => {
    const response = await h.request('POST', '/deployments', { body: { environment, migrations: MIGRATIONS } })
    t.equal(response.statusCode, 202, `${environment} accepted: ${response.body}`)
    const id = response.json().id as string
    posted.push({ id, environment, migrations: MIGRATIONS, expected: gated ? 'pending_approval' : 'succeeded', gated })
    return id
  }

  const gated = [await post('gated0', true), await post('gated1', true)]
  for (const id of gated) t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval')
  for (const environment of ['apply0', 'apply1', 'apply2']) await post(environment, false)
  // Mid-apply: some migrations of apply0 committed on its target, more to come.
  await until(async () => (await appliedCount(h.targets.apply0 as string)) >= 3 ? true : undefined, 'apply0 to be applying', 60_000, 10)

  const fault = performance.now()
  const faultAt = new Date()
  await pair.crashPrimary()
  t.comment(`primary crashed with ${await appliedCount(h.targets.apply0 as string)} of ${MIGRATIONS.length} migrations applied to apply0`)

  // The gap: the old primary is gone, the standby is read-only. Every request that needs the control database: a clear 503.
  const refused = await h.request('POST', '/deployments', { body: { environment: 'after', migrations: MIGRATIONS } })
  t.equal(refused.statusCode, 503, refused.body)
  t.equal(refused.headers['retry-after'], '5', 'with Retry-After')
  t.equal(refused.json().error.code, 'SERVICE_UNAVAILABLE')
  t.match(refused.json().error.message, /^the control database is unavailable \(.+\)/)
  t.notMatch(refused.body, /postgres:\/\/|127\.0\.0\.1|5780/, 'no address or credentials in the answer')
  t.equal((await h.request('GET', `/deployments/${gated[0] as string}`)).statusCode, 503, 'reads too')
  t.equal((await h.request('POST', `/deployments/${gated[0] as string}/approve`, { as: 'alice' })).statusCode, 503, 'and approvals')
  const notReady = await h.request('GET', '/readyz', { as: null })
  t.same([notReady.statusCode, notReady.json().checks], [503, { control_database: 'unavailable', redis: 'ok' }])

  const promoting = performance.now()
  await pair.promoteStandby()
  const promoted = performance.now()
  // No restart: the pool passes over the dead host and finds the promoted one.
  await until(async () => (await h.request('GET', '/readyz', { as: null })).statusCode === 200 ? true : undefined, 'the service to recover', 30_000, 20)
  const firstRequest = performance.now()
  const firstApplied = await until(async () => {
    for (const environment of ['apply0', 'apply1', 'apply2']) {
      const [row] = await queryDatabase<{ n: number }>(h.targets[environment] as string,
        `SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at > $1`, [faultAt]).catch(() => [{ n: 0 }])
      if ((row?.n ?? 0) > 0) return performance.now()
    }
    return undefined
  }, 'a migration applied after the fault', 60_000, 10)
  const seconds = (ms: number): string => (ms / 1000).toFixed(2)
  t.comment(`failover timing: promotion took ${seconds(promoted - promoting)} s; fault→first successful request ${seconds(firstRequest - fault)} s ` +
    `(promotion→first request ${seconds(firstRequest - promoted)} s); fault→first migration applied ${seconds(firstApplied - fault)} s (promotion→ ${seconds(firstApplied - promoted)} s)`)

  // After: new work, and the approval of the deployments that waited through the failover.
  await post('after', false)
  for (const id of gated) t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })).statusCode, 200, 'approved after the failover')
  for (const deployment of posted) deployment.expected = 'succeeded'
  for (const deployment of posted) {
    const done = await h.waitFor(deployment.id, ['succeeded', 'failed', 'rejected', 'cancelled', 'expired'], 120_000)
    t.equal(done.status, 'succeeded', `${deployment.environment}: ${JSON.stringify(done.report)}`)
  }
  await checkAccounting(t, h, pair.url(1, 'control'), posted, 'after the control database failover')
})
