import t from 'tap'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'

// The real sequelize-cli (a dev dependency) on migrations-fixtures/sequelize-app and
// sequelize-broken (config/config.js reads DATABASE_URL via use_env_variable), against a real PostgreSQL.
const SEQUELIZE = { migration_tool: 'command', command: { preset: 'sequelize' } }

interface Report {
  status: string
  error?: string
  result: Record<string, unknown> & { migrations?: Array<{ name: string; status: string; duration_seconds: number }> }
}

async function deploy (h: Harness, body: Record<string, unknown>): Promise<{ id: string, status: string, report: Report, log: string }> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'], 120_000)
  const log = (await h.request('GET', `/deployments/${done.id}/log`, { as: 'viewer' })).body
  return { id: done.id, status: done.status, report: done.report as unknown as Report, log }
}

t.test('sequelize-cli through the command preset: pending → applied, status clean, a partial failure restored', async (t) => {
  const backups = t.testdir({})
  const h = await startHarness({
    environments: {
      dev: { ...SEQUELIZE, working_directory: 'sequelize-app' },
      staging: { ...SEQUELIZE, working_directory: 'sequelize-broken', backup_before_migrate: true, backup: { provider: 'pg_dump', dir: backups }, on_failure: 'restore_backup' },
      qa: { ...SEQUELIZE, working_directory: 'sequelize-broken' }
    }
  })
  t.teardown(h.close)

  t.test('deploy: applied with the tool\'s own timings, then up to date', async (t) => {
    const before = (await h.request('GET', '/environments/dev/status', { as: 'viewer' })).json()
    t.same(before.pending.map((m: { name: string }) => m.name), ['20250110090000-create-customers.js', '20250111090000-create-orders.js'], 'names parsed from `sequelize-cli db:migrate:status`')
    const done = await deploy(h, { environment: 'dev' })
    t.equal(done.status, 'succeeded', JSON.stringify(done.report))
    t.same(done.report.result.migrations?.map((m) => [m.name, m.status]), [['20250110090000-create-customers.js', 'applied'], ['20250111090000-create-orders.js', 'applied']])
    t.match(done.log, / {2}│ == 20250110090000-create-customers: migrated \(\d+\.\d+s\)/)
    t.match(done.log, /✓ Deploying migration: 20250111090000-create-orders\.js \(\d+\.\d+s\)/)
    t.same(await queryDatabase(h.targets.dev as string, 'SELECT name FROM "SequelizeMeta" ORDER BY name'), [{ name: '20250110090000-create-customers.js' }, { name: '20250111090000-create-orders.js' }])
    t.same(await queryDatabase(h.targets.dev as string, `SELECT to_regclass('orders_customer_id_idx') IS NOT NULL AS indexed`), [{ indexed: true }])
    const after = (await h.request('GET', '/environments/dev/status', { as: 'viewer' })).json()
    t.equal(after.up_to_date, true)
    t.same(after.applied.map((m: { name: string }) => m.name), ['20250110090000-create-customers.js', '20250111090000-create-orders.js'])
  })

  t.test('a failing migration without a backup: what ran before it stays, the tool\'s message is reported', async (t) => {
    const failed = await deploy(h, { environment: 'qa' })
    t.equal(failed.status, 'failed')
    t.equal(failed.report.error, 'Migration 20250202000000-add-shipment-tracking.js failed')
    t.equal(failed.report.result.database_error, 'relation "shipment_labels" does not exist')
    t.equal(failed.report.result.migrations_applied_before_failure, 1)
    t.same(failed.report.result.applied_migrations, ['20250201000000-create-shipments.js'])
    t.equal(failed.report.result.rollback_initiated, false)
    t.same(await queryDatabase(h.targets.qa as string, `SELECT to_regclass('shipments') IS NOT NULL AS shipments, to_regclass('tracking_events') IS NOT NULL AS partial`), [{ shipments: true, partial: true }], 'sequelize-cli runs no transaction: the half-done migration left its first table')
  })

  t.test('with restore_backup configured the partial migration is undone', async (t) => {
    const failed = await deploy(h, { environment: 'staging' })
    t.equal(failed.status, 'failed')
    t.equal(failed.report.result.failed_migration, '20250202000000-add-shipment-tracking.js')
    t.equal(failed.report.result.database_error, 'relation "shipment_labels" does not exist')
    t.equal(failed.report.result.rollback_status, 'success')
    t.match(failed.report.result.backup_id, /^backup-/)
    t.match(failed.log, /✓ Backup created: backup-(.|\n)* {2}│ ERROR: relation "shipment_labels" does not exist(.|\n)*✓ Rollback: database restored/)
    t.same(await queryDatabase(h.targets.staging as string, `SELECT to_regclass('shipments') AS shipments, to_regclass('tracking_events') AS partial`), [{ shipments: null, partial: null }], 'back to the database the backup holds')
    // sequelize-cli's status (the health check, before the backup) creates its history table: the backup has it, empty.
    t.same(await queryDatabase(h.targets.staging as string, 'SELECT count(*)::int AS n FROM "SequelizeMeta"'), [{ n: 0 }])
  })
})
