import t from 'tap'
import { until } from '../helpers/until.js'
import { serviceEnv, slowMigrations, spawnService, startProcessHarness } from './helpers/processes.js'
import { appliedCount, migrationStates, unfinishedRows } from './helpers/target-state.js'

const environments = { staging: { health_check: { checks: ['connectivity'], timeout: '5s' } } }
const MIGRATIONS = slowMigrations(20)

t.test('SIGTERM mid-apply: the migration in flight finishes and is recorded, the worker exits 0, another worker continues', async (t) => {
  const { h, config, processes } = await startProcessHarness(t, environments)
  const env = serviceEnv(h, config.file, { SHUTDOWN_GRACE: '20s', RECONCILE_INTERVAL: '1s' })
  const first = spawnService('worker', env, processes)
  await first.ready

  const created = await h.request('POST', '/deployments', { body: { environment: 'staging', migrations: MIGRATIONS } })
  t.equal(created.statusCode, 202)
  const id = created.json().id as string
  const target = h.targets.staging as string
  await until(async () => (await appliedCount(target)) >= 5 ? true : undefined, 'five migrations applied', 60_000, 10)

  first.kill('SIGTERM')
  const exit = await first.exited
  t.same(exit, { code: 0, signal: null }, 'the worker exits 0 within SHUTDOWN_GRACE')
  t.ok(first.lines.some((line) => line.includes('"msg":"shutting down"')), 'it logged the shutdown')
  t.ok(first.lines.some((line) => line.includes('handed the deployment back to the queue')), 'it handed the deployment back')
  t.ok(first.lines.some((line) => line.includes('"msg":"shut down cleanly"')), 'it closed queues and pools')

  const stopped = await h.request('GET', `/deployments/${id}`)
  t.equal(stopped.json().status, 'running', 'the deployment is not failed: it waits for another worker')
  const states = await migrationStates(target, MIGRATIONS)
  const applied = states.filter((m) => m.recorded === 1).length
  t.ok(applied >= 5 && applied < 20, `stopped between migrations (${applied} applied)`)
  t.same(states.filter((m) => (m.recorded === 1) !== m.tableExists), [], 'each migration recorded iff its table exists')
  t.equal(await unfinishedRows(target), 0, 'no half-applied migration')
  const { rows } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM applied_migrations WHERE deployment_id = $1', [id])
  t.equal(rows[0]?.n, applied, 'every applied migration was recorded in the control DB before the exit')

  const second = spawnService('worker', env, processes)
  await second.ready
  const done = await h.waitFor(id, ['succeeded', 'failed'], 120_000)
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 20)
  t.same((await migrationStates(target, MIGRATIONS)).filter((m) => m.recorded !== 1 || !m.tableExists), [], 'all 20 applied exactly once')
  const log = (await h.request('GET', `/deployments/${id}/log`)).body
  t.match(log, /⏸ Worker shutting down: stopped between migrations/)
  t.match(log, new RegExp(`↻ Resuming: ${applied} migrations were applied by this deployment before it was interrupted`))
})
