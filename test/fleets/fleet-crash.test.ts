import pg from 'pg'
import t from 'tap'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'
import { tenantUrlTemplate, TenantDatabases } from '../helpers/tenant-databases.js'
import { until } from '../helpers/until.js'
import { killAll, serviceEnv, slowMigrations, spawnService, writeServiceConfig, type ServiceProcess } from '../reliability/helpers/processes.js'
import { migrationStates, unfinishedRows } from '../reliability/helpers/target-state.js'

// kill -9 of the worker running a fleet, mid-rollout (SPEC §14, issue 21 item 5): another worker
// takes the job over; no target is lost, none applies a migration twice, and the fleet finishes.
const MIGRATIONS = slowMigrations(6, 0.1)

t.test('kill -9 mid-fleet: no target lost, nothing applied twice, the fleet finishes', async (t) => {
  const tenants = new TenantDatabases()
  const names = await tenants.clone(await tenants.template([]), 'md_tcr', 6)
  const catalog = await createEmptyDatabase('md_catalog')
  await queryDatabase(catalog, 'CREATE TABLE tenants (slug text PRIMARY KEY)')
  await queryDatabase(catalog, 'INSERT INTO tenants SELECT unnest($1::text[])', [names])
  const environments = {
    fleet: {
      database_url_env: undefined,
      targets: { catalog_url_env: 'CRASH_CATALOG_URL', names_query: 'SELECT slug FROM tenants', url_template_env: 'CRASH_TENANT_URL' },
      rollout: { canary: 1, batch_size: 5, concurrency: 2 },
      health_check: { checks: ['connectivity'], timeout: '5s' }
    }
  }
  const h = await startHarness({ environments, worker: false, env: { CRASH_CATALOG_URL: databaseUrl(catalog), CRASH_TENANT_URL: tenantUrlTemplate() } })
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
    await tenants.drop()
    await dropDatabase(catalog)
  })
  const env = serviceEnv(h, config.file, { WORKER_LOCK_DURATION: '1s', WORKER_STALLED_INTERVAL: '300ms', WORKER_MAX_STALLED: '50', RECONCILE_INTERVAL: '1s', WORKER_CONCURRENCY: '2' })
  const spawnWorker = (): ServiceProcess => spawnService('worker', env, processes)
  const workers = [spawnWorker(), spawnWorker()]
  await Promise.all(workers.map(async (w) => { await w.ready }))

  const created = await h.request('POST', '/deployments', { body: { environment: 'fleet', migrations: MIGRATIONS } })
  t.equal(created.statusCode, 202, created.body)
  const id = created.json().id as string
  // Kill once the canary is done and the batch is under way (a target part-applied, likely).
  await until(async () => {
    const { rows } = await control.query<{ n: number }>("SELECT count(*)::int AS n FROM fleet_targets WHERE deployment_id = $1 AND status = 'succeeded'", [id])
    return (rows[0]?.n ?? 0) >= 2 ? true : undefined
  }, 'two targets done', 120_000, 20)
  const { rows } = await control.query<{ application_name: string }>(
    "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'migration-deployer job pid %'")
  const pid = Number(rows[0]?.application_name.replace(/\D+/g, ''))
  const victim = workers.find((w) => w.pid === pid)
  if (victim === undefined) throw new Error(`no worker with pid ${pid}`)
  victim.kill('SIGKILL')
  t.equal((await victim.exited).signal, 'SIGKILL', 'the worker running the fleet was killed')
  spawnWorker()

  const done = await h.waitFor(id, ['succeeded', 'failed'], 180_000)
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.same(done.summary, { total: 6, succeeded: 6, failed: 0, skipped: 0, running: 0, pending: 0 }, 'no target lost')
  const checked = await Promise.all(names.map(async (name) => ({
    name, states: await migrationStates(name, MIGRATIONS), unfinished: await unfinishedRows(name)
  })))
  for (const { name, states, unfinished } of checked) {
    t.same(states.filter((m) => m.recorded !== 1 || !m.tableExists), [], `${name}: every migration recorded exactly once, its table there`)
    t.equal(unfinished, 0, `${name}: no unfinished history row`)
  }
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 6 * 6, 'the report counts every migration, before and after the crash')
})
