import pg from 'pg'
import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { freePorts, killAll, serviceEnv, slowMigrations, spawnService, writeServiceConfig, type ServiceProcess } from '../reliability/helpers/processes.js'
import { until } from '../helpers/until.js'
import { appliedCount, migrationStates, unfinishedRows } from '../reliability/helpers/target-state.js'
import { startRedisCluster } from './helpers/redis-cluster.js'

// A Redis Cluster of three masters (redis-cli --cluster create, ports of this file's own); the
// service knows only REDIS_CLUSTER_NODES. BullMQ's scripts touch several keys of a queue at once:
// each queue's keys carry a hash tag, so they share one slot.
const [PORTS, BUS_PORTS] = await (async () => { const ports = await freePorts(6); return [ports.slice(0, 3), ports.slice(3)] })()
const HEALTH = { checks: ['connectivity'], timeout: '5s' }
const GATED = { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: HEALTH }

t.test('on a Redis Cluster: deploy, plan, approve and apply; every key of a queue in one slot', async (t) => {
  const cluster = await startRedisCluster(PORTS, BUS_PORTS)
  t.teardown(cluster.close)
  const h = await startHarness({ environments: { dev: { health_check: HEALTH }, production: GATED }, redis: cluster.settings })
  t.teardown(h.close)
  const migrations = slowMigrations(3, 0)

  t.same((await h.request('GET', '/readyz', { as: null })).json().checks, { control_database: 'ok', redis: 'ok' }, 'ready on the Cluster')
  const dev = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations } })
  t.equal(dev.statusCode, 202, dev.body)
  t.equal(dev.json().warnings, undefined, 'queued at once')
  t.equal((await h.waitFor(dev.json().id, ['succeeded', 'failed'])).status, 'succeeded', 'an unprotected deployment applies')
  const production = await h.request('POST', '/deployments', { body: { environment: 'production', migrations } })
  const id = production.json().id as string
  t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval', 'a protected one waits with its plan')
  t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })).statusCode, 200)
  const done = await h.waitFor(id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.same((await migrationStates(h.targets.production as string, migrations)).filter((m) => m.recorded !== 1 || !m.tableExists), [], 'applied once, after approval')

  // Where BullMQ put the queue's keys: all behind its hash tag, all in one slot.
  const queue = h.runtime.settings.queueName
  // The rate limit's keys are the other keys the service writes: one per token, each its script's only key (any slot will do).
  const all = await cluster.keys()
  t.same(all.filter(({ key }) => key.includes(':rate-limit:') && !key.startsWith(`${queue}:rate-limit:token:`)).map(({ key }) => key), [],
    'rate-limit keys: one key per token')
  const keys = all.filter(({ key }) => key.includes(queue) && !key.startsWith(`${queue}:rate-limit:`))
  t.ok(keys.length > 3, `the queue has keys (${keys.length})`)
  t.same(keys.filter(({ key }) => !key.startsWith(`{${queue}}:`)).map(({ key }) => key), [], 'every key of the queue starts with its hash tag')
  t.equal(new Set(keys.map(({ port }) => port)).size, 1, 'on one node')
})

t.test('kill -9 mid-apply on a Redis Cluster: another worker resumes from the history, nothing applies twice', async (t) => {
  const cluster = await startRedisCluster(PORTS, BUS_PORTS)
  t.teardown(cluster.close)
  const environments = { crash0: { health_check: HEALTH }, crash1: GATED }
  const h = await startHarness({ environments, worker: false, redis: cluster.settings })
  const config = writeServiceConfig(h, environments)
  const processes: ServiceProcess[] = []
  const control = new pg.Client({ connectionString: h.runtime.settings.databaseUrl })
  control.on('error', () => {})
  await control.connect()
  t.teardown(async () => {
    await killAll(processes)
    await control.end()
    config.cleanup()
    await h.close()
  })
  const env = serviceEnv(h, config.file, {
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: PORTS.map((port) => `127.0.0.1:${port}`).join(','),
    WORKER_LOCK_DURATION: '1s',
    WORKER_STALLED_INTERVAL: '300ms',
    WORKER_MAX_STALLED: '50',
    RECONCILE_INTERVAL: '1s',
    WORKER_CONCURRENCY: '1'
  })
  const migrations = slowMigrations(12, 0.1)
  let workers = [spawnService('worker', env, processes), spawnService('worker', env, processes)]
  await Promise.all(workers.map(async (w) => { await w.ready }))
  for (const environment of Object.keys(environments)) {
    const created = await h.request('POST', '/deployments', { body: { environment, migrations } })
    t.equal(created.statusCode, 202, `${environment}: created`)
    const id = created.json().id as string
    if (environment === 'crash1') {
      t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval', `${environment}: waits for approval`)
      t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })).statusCode, 200, `${environment}: approved`)
    }
    const target = h.targets[environment] as string
    await until(async () => (await appliedCount(target)) >= 4 ? true : undefined, `${environment}: 4 migrations applied`, 60_000, 10)
    const pid = await until(async () => {
      const { rows } = await control.query<{ application_name: string }>(
        `SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'migration-deployer job pid %'`)
      const pids = new Set(rows.map((row) => Number(row.application_name.replace(/\D+/g, ''))))
      return pids.size === 1 ? [...pids][0] : undefined
    }, `${environment}: the worker running it`, 10_000, 5)
    const victim = workers.find((w) => w.pid === pid)
    if (victim === undefined) throw new Error(`no worker with pid ${pid}`)
    victim.kill('SIGKILL')
    t.equal((await victim.exited).signal, 'SIGKILL', `${environment}: its worker killed mid-apply`)
    // A replacement joins, as an orchestrator would start one; the survivor takes the job over.
    workers = [...workers.filter((w) => w !== victim), spawnService('worker', env, processes)]

    const done = await h.waitFor(id, ['succeeded', 'failed', 'rejected', 'cancelled', 'expired'], 120_000)
    t.equal(done.status, 'succeeded', `${environment}: the other worker resumed it: ${JSON.stringify(done.report)}`)
    t.same((await migrationStates(target, migrations)).filter((m) => m.recorded !== 1 || !m.tableExists), [], `${environment}: every migration recorded exactly once`)
    t.equal(await unfinishedRows(target), 0, `${environment}: no unfinished history row`)
    const { rows } = await control.query<{ n: number }>('SELECT count(*)::int AS n FROM applied_migrations WHERE deployment_id = $1', [id])
    t.equal(rows[0]?.n, migrations.length, `${environment}: the control database records them all`)
  }
})
