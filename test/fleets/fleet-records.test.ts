import t from 'tap'
import { checksumsAppliedIn, measuredDurations, migrationsAppliedBy } from '../../src/store/applied-migrations.js'
import { databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { ALL, body, createCatalog, fleetEnvironment } from '../helpers/fleet-fixtures.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { startHarnessNotifications } from '../helpers/notifications.js'
import { tenantUrlTemplate, TenantDatabases } from '../helpers/tenant-databases.js'
import { until } from '../helpers/until.js'

// Fleets (SPEC §14, issue 21), what a fleet deployment leaves in the control database and the
// metrics: applied_migrations holds one row per migration per target (named by the target), what
// reads it (promotion gate, duration estimates, what a deployment applied) keeps working, and
// the targets are counted by status.
const tenants = new TenantDatabases()
let catalog: string
let h: Harness
let good: string[]
let broken: string
const APPROVAL = { protected: true, approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' } }
const HEALTH = { health_check: { checks: ['connectivity'], timeout: '5s' }, backup_before_migrate: false }

t.before(async () => {
  const empty = await tenants.template([])
  const names = await tenants.clone(empty, 'md_trec', 5)
  good = names.slice(0, 4)
  broken = names[4] as string
  // The fifth target already has the first migration's table: its apply fails, the others go on.
  await queryDatabase(broken, 'CREATE TABLE accounts (id int)')
  catalog = await createCatalog({ fleet: names }, [])
  h = await startHarness({
    environments: {
      fleet: fleetEnvironment('fleet', { ...APPROVAL, rollout: { canary: 0, batch_size: 5, concurrency: 2, max_failures: 3 } }),
      solo: HEALTH,
      production: { ...HEALTH, requires_success_in: ['fleet'] }
    },
    env: { FLEET_CATALOG_URL: databaseUrl(catalog), FLEET_TENANT_URL: tenantUrlTemplate() }
  })
})

t.teardown(async () => {
  await h?.close()
  await tenants.drop()
  if (catalog !== undefined) await dropDatabase(catalog)
})

async function metrics (): Promise<string> {
  const res = await h.request('GET', '/metrics', { as: 'viewer' })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.body
}

/** A metric's value in the scrape, or undefined when the series is absent. */
const valueOf = (scrape: string, series: string): number | undefined => {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('a fleet deployment records each migration once per target it applied it to, with the target\'s name', async (t) => {
  await startHarnessNotifications(t, h, {})
  const id = (await h.request('POST', '/deployments', { body: body('fleet') })).json().id as string
  await h.waitFor(id, ['pending_approval'])
  const waiting = await metrics()
  t.equal(valueOf(waiting, 'migration_deployer_fleet_targets{environment="fleet",status="pending"}'), 5, 'the gauge counts the fleet\'s pending targets')

  t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', body: {} })).statusCode, 200)
  const done = await h.waitFor(id, ['succeeded', 'failed'], 60_000)
  t.same(done.summary, { total: 5, succeeded: 4, failed: 1, skipped: 0, running: 0, pending: 0 })

  const { rows } = await h.runtime.pool.query<{ target: string, migration_name: string, checksum: string }>(
    'SELECT target, migration_name, checksum FROM applied_migrations WHERE deployment_id = $1 ORDER BY target, migration_name', [id])
  const expected = good.slice().sort().flatMap((target) => ALL.map((m) => ({ target, migration_name: m.name, checksum: m.checksum })))
  t.same(rows, expected, 'three migrations × four targets that applied them; none for the target that failed')
  t.notOk(rows.some((row) => row.target === broken), 'the failed target applied nothing, so has no row')

  const by = await migrationsAppliedBy(h.runtime.pool, id)
  t.equal(by.length, 12, 'what the deployment applied, per target')
  t.same([...new Set(by.map((m) => m.target))].sort(), good.slice().sort())

  // What reads the record keeps working: the promotion gate's checksums and the measured durations.
  const checksums = ALL.map((m) => m.checksum)
  t.same([...await checksumsAppliedIn(h.runtime.pool, 'fleet', checksums)].sort(), checksums.slice().sort())
  const measured = await measuredDurations(h.runtime.pool, checksums, 'production')
  t.same([...measured.values()].map((m) => m.environment), ['fleet', 'fleet', 'fleet'])

  // The targets by how they ended, once the finished deployment's notification is dispatched.
  const finished = await until(async () => {
    const scrape = await metrics()
    return valueOf(scrape, 'migration_deployer_fleet_targets_finished_total{environment="fleet",status="failed"}') === undefined ? undefined : scrape
  }, 'the fleet\'s targets counted in migration_deployer_fleet_targets_finished_total', 30_000, 100)
  t.equal(valueOf(finished, 'migration_deployer_fleet_targets_finished_total{environment="fleet",status="succeeded"}'), 4)
  t.equal(valueOf(finished, 'migration_deployer_fleet_targets_finished_total{environment="fleet",status="failed"}'), 1)
  t.equal(valueOf(finished, 'migration_deployer_fleet_targets_finished_total{environment="fleet",status="skipped"}'), undefined, 'no target was skipped')
  t.equal(valueOf(finished, 'migration_deployer_migration_duration_seconds_count{environment="fleet"}'), 12, 'one apply observed per migration per target')
  t.equal(valueOf(finished, 'migration_deployer_fleet_targets{environment="fleet",status="pending"}'), undefined, 'a finished fleet leaves the gauge')
})

t.test('a deployment to one database records its rows for the environment\'s own database; the gate reads the fleet\'s rows', async (t) => {
  const solo = await h.request('POST', '/deployments', { body: body('solo') })
  t.equal((await h.waitFor(solo.json().id, ['succeeded', 'failed'])).status, 'succeeded')
  const { rows } = await h.runtime.pool.query<{ target: string }>('SELECT target FROM applied_migrations WHERE deployment_id = $1', [solo.json().id])
  t.same(rows.map((row) => row.target), ['', '', ''], 'one row per migration, target \'\' (not a fleet)')

  // production requires success in the fleet: its plan's gate passes on the fleet's per-target rows; its estimates are measured ones.
  const prod = await h.request('POST', '/deployments', { body: body('production') })
  const deployed = await h.waitFor(prod.json().id, ['succeeded', 'failed'])
  t.equal(deployed.status, 'succeeded', JSON.stringify(deployed.report))
  t.equal(deployed.plan?.promotion_gate?.passed, true, deployed.plan?.promotion_gate?.message ?? 'no gate')
  t.ok(deployed.plan?.migrations.every((m) => /^measured in (fleet|solo)$/.test(m.estimate_basis)), 'estimates from the measured applies')
})
