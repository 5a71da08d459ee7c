import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { queryDatabase } from '../helpers/databases.js'
import { startReconciler } from '../../src/worker.js'
import { freePorts, slowMigrations } from '../reliability/helpers/processes.js'
import { until } from '../helpers/until.js'
import { appliedCount } from '../reliability/helpers/target-state.js'
import { checkAccounting, type Posted } from './helpers/accounting.js'
import { startRedisSentinelSet } from './helpers/redis-sentinel.js'

// Redis as production runs it behind Sentinel: a primary, a replica, three sentinels (ports of
// this file's own). The service knows only REDIS_SENTINELS + REDIS_SENTINEL_NAME. Eighteen
// deployments are in flight (applying, queued, waiting for approval) when the primary is SIGKILLed.
const PORTS = await freePorts(5) as [number, number, number, number, number]
const HEALTH = { checks: ['connectivity'], timeout: '5s' }
const GATED = { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: HEALTH }
const APPLYING = 12
const WAITING = 6
const environments: Record<string, Record<string, unknown>> = { during: { health_check: HEALTH }, after: { health_check: HEALTH } }
for (let i = 0; i < APPLYING; i++) environments[`apply${i}`] = { health_check: HEALTH }
for (let i = 0; i < WAITING; i++) environments[`gated${i}`] = GATED
const MIGRATIONS = slowMigrations(4, 0.2)

t.test('the Redis primary is SIGKILLed with 18 deployments in flight (20 in all) and Sentinel promotes the replica: each ends where it would have, none applied twice', async (t) => {
  const started = performance.now()
  const redis = await startRedisSentinelSet(PORTS)
  t.teardown(redis.close)
  t.comment(`primary, replica and sentinels ready in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const h = await startHarness({
    environments,
    redis: redis.settings,
    // Production-like settings, shortened: a job whose worker lost Redis is taken again after a few seconds.
    reliability: { enqueueTimeoutMs: 1000, lockDurationMs: 4000, stalledIntervalMs: 2000 }
  })
  const reconciler = startReconciler(h.runtime.pipeline, 1000)
  t.comment(`service ready after ${((performance.now() - started) / 1000).toFixed(1)} s`)
  t.teardown(async () => {
    await reconciler.stop()
    await h.close()
  })
  const posted: Posted[] = []
  const post = async (environment: string, gated: boolean): Promise<{ id: string, warnings?: string[] }> => {
    const response = await h.request('POST', '/deployments', { body: { environment, migrations: MIGRATIONS } })
    t.equal(response.statusCode, 202, `${environment} accepted: ${response.body}`)
    const body = response.json()
    posted.push({ id: body.id, environment, migrations: MIGRATIONS, expected: gated ? 'pending_approval' : 'succeeded', gated })
    return body
  }

  const gated: string[] = []
  for (let i = 0; i < WAITING; i++) gated.push((await post(`gated${i}`, true)).id)
  for (const id of gated) t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval')
  for (let i = 0; i < APPLYING; i++) await post(`apply${i}`, false)
  // Mid-apply: migrations of apply0 committed on its target, more to come, most deployments still queued in Redis.
  await until(async () => (await appliedCount(h.targets.apply0 as string)) >= 2 ? true : undefined, 'apply0 to be applying', 60_000, 10)

  const fault = performance.now()
  t.comment(`fault after ${((fault - started) / 1000).toFixed(1)} s of setup and load`)
  const oldPrimary = await redis.killPrimary()
  const applyEnvironments = Object.keys(h.targets).filter((e) => e.startsWith('apply'))
  const done = await Promise.all(applyEnvironments.map(async (e) => await appliedCount(h.targets[e] as string)))
  // Measured on targets nobody had started on: a worker mid-apply carries on without Redis.
  const untouched = applyEnvironments.filter((_e, i) => done[i] === 0)
  t.comment(`primary (port ${oldPrimary}) killed with ${done.filter((n) => n === MIGRATIONS.length).length} of ${APPLYING} deployments fully applied, ` +
    `${done.filter((n) => n > 0 && n < MIGRATIONS.length).length} mid-apply`)

  // In the gap the control database still takes deployments; the queue catches up later.
  const during = await post('during', false)
  t.comment(`POST in the gap: warnings ${JSON.stringify(during.warnings ?? [])}`)

  const newPrimary = await redis.waitForPromotion(oldPrimary, 30_000)
  const promoted = performance.now()
  t.not(newPrimary, oldPrimary, 'the replica is the primary now')
  // The first POST the queue takes again without a warning.
  const firstRequest = await until(async () => {
    const ready = await h.request('GET', '/readyz', { as: null })
    return ready.statusCode === 200 ? performance.now() : undefined
  }, 'the service to reach the new primary', 30_000, 20)
  const firstApplied = await until(async () => {
    for (const environment of untouched) {
      const [row] = await queryDatabase<{ n: number }>(h.targets[environment] as string,
        'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL').catch(() => [{ n: 0 }])
      if ((row?.n ?? 0) > 0) return performance.now()
    }
    return undefined
  }, 'a migration applied on a target untouched at the fault', 60_000, 20)
  const seconds = (ms: number): string => (ms / 1000).toFixed(2)
  t.comment(`failover timing: fault→promotion ${seconds(promoted - fault)} s; fault→service ready ${seconds(firstRequest - fault)} s; ` +
    `fault→first migration applied on a deployment not started before ${seconds(firstApplied - fault)} s`)

  const after = await post('after', false)
  t.equal(after.warnings, undefined, 'a POST after the failover is queued at once')
  for (const id of gated) t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })).statusCode, 200, 'approved after the failover')
  for (const deployment of posted) deployment.expected = 'succeeded'
  for (const deployment of posted) {
    const end = await h.waitFor(deployment.id, ['succeeded', 'failed', 'rejected', 'cancelled', 'expired'], 120_000)
    t.equal(end.status, 'succeeded', `${deployment.environment}: ${JSON.stringify(end.report)}`)
  }
  t.comment(`all ${posted.length} deployments finished ${((performance.now() - fault) / 1000).toFixed(1)} s after the fault`)
  await checkAccounting(t, h, h.runtime.settings.databaseUrl, posted, 'after the Redis failover')
  t.comment(`accounting checked ${((performance.now() - fault) / 1000).toFixed(1)} s after the fault`)
})
