import pg from 'pg'
import t from 'tap'
import { databaseUrl } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'
import { until } from '../helpers/until.js'
import { killAll, serviceEnv, slowMigrations, spawnService, writeServiceConfig, type ServiceProcess } from './helpers/processes.js'
import { migrationStates, unfinishedRows } from './helpers/target-state.js'

// Ten rounds of kill -9 at a random point of a 30-migration apply, alternating an unprotected
// environment (plan and apply in one job) and an approved plan (frozen: the resume must accept
// the remaining suffix of the approved plan, and only that).
const ROUNDS = 10
const MIGRATIONS = slowMigrations(30)
const HEALTH = { checks: ['connectivity'], timeout: '5s' }
const environments: Record<string, Record<string, unknown>> = {}
for (let round = 0; round < ROUNDS; round++) {
  environments[`crash${round}`] = round % 2 === 0
    ? { health_check: HEALTH }
    : { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: HEALTH }
}

t.test('kill -9 mid-apply: the migration in flight rolls back, another worker resumes from the history, nothing applies twice', async (t) => {
  const h = await startHarness({ environments, worker: false })
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
  // Short locks so a dead worker's job is handed over quickly; many stalls allowed, because a
  // loaded test machine can make a live worker look stalled (the deployment lease keeps that safe).
  const env = serviceEnv(h, config.file, { WORKER_LOCK_DURATION: '1s', WORKER_STALLED_INTERVAL: '300ms', WORKER_MAX_STALLED: '50', RECONCILE_INTERVAL: '1s', WORKER_CONCURRENCY: '2' })
  const spawnWorker = (): ServiceProcess => spawnService('worker', env, processes)
  let workers = [spawnWorker(), spawnWorker()]
  await Promise.all(workers.map(async (w) => { await w.ready }))

  /** The pid of the worker process whose job session holds this deployment right now. */
  const runnerPid = async (): Promise<number | undefined> => {
    const { rows } = await control.query<{ application_name: string }>(
      `SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'migration-deployer job pid %'`)
    const pids = new Set(rows.map((row) => Number(row.application_name.replace(/\D+/g, ''))))
    return pids.size === 1 ? [...pids][0] : undefined
  }

  for (let round = 0; round < ROUNDS; round++) {
    const environment = `crash${round}`
    const approved = round % 2 === 1
    const targetName = h.targets[environment] as string
    const target = new pg.Client({ connectionString: databaseUrl(targetName) })
    target.on('error', () => {})
    await target.connect()
    const applied = async (): Promise<number> => {
      const exists = await target.query<{ found: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
      if (exists.rows[0]?.found !== true) return 0
      const { rows } = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL')
      return rows[0]?.n ?? 0
    }

    const created = await h.request('POST', '/deployments', { body: { environment, migrations: MIGRATIONS } })
    t.equal(created.statusCode, 202, `round ${round}: created`)
    const id = created.json().id as string
    if (approved) {
      t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval')
      t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })).statusCode, 200)
    }

    // A random point: after k migrations committed, plus up to 60 ms (often inside the next one).
    const k = Math.floor(Math.random() * 26)
    await until(async () => (await applied()) >= k ? true : undefined, `${k} migrations applied in round ${round}`, 60_000, 10)
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 60)))
    const pid = await until(runnerPid, `the worker running round ${round}`, 10_000, 5)
    const victim = workers.find((w) => w.pid === pid)
    if (victim === undefined) throw new Error(`no worker with pid ${pid}`)
    victim.kill('SIGKILL')
    t.equal((await victim.exited).signal, 'SIGKILL', `round ${round}: worker ${pid} killed after ${k}+ migrations`)
    // A replacement joins, as an orchestrator would start one; the survivor takes the job over.
    const replacement = spawnWorker()
    workers = [...workers.filter((w) => w !== victim), replacement]

    const atKill = await migrationStates(targetName, MIGRATIONS)
    t.ok(atKill.every((m) => (m.recorded === 1) === m.tableExists && m.recorded <= 1), `round ${round}: right after the kill, each migration is recorded iff its table exists`)

    const done = await h.waitFor(id, ['succeeded', 'failed', 'rejected', 'cancelled', 'expired'], 120_000)
    t.equal(done.status, 'succeeded', `round ${round} (${approved ? 'approved plan' : 'unprotected'}, killed after ${atKill.filter((m) => m.tableExists).length}): ${JSON.stringify(done.report)}`)
    const report = done.report as { result?: { migrations_applied?: number } }
    t.equal(report.result?.migrations_applied, 30, `round ${round}: the report counts the migrations applied before the crash too`)
    const states = await migrationStates(targetName, MIGRATIONS)
    t.same(states.filter((m) => m.recorded !== 1 || !m.tableExists), [], `round ${round}: every migration recorded exactly once and its table exists`)
    t.equal(await unfinishedRows(targetName), 0, `round ${round}: no unfinished history row`)
    const { rows } = await control.query<{ n: number }>('SELECT count(*)::int AS n FROM applied_migrations WHERE deployment_id = $1', [id])
    t.equal(rows[0]?.n, 30, `round ${round}: the control DB records all 30 for this deployment`)
    await target.end()
  }
  await Promise.all(workers.map(async (w) => { await w.ready }))
})
