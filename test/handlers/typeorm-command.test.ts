import t from 'tap'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'

// The real TypeORM CLI (a dev dependency) on migrations-fixtures/typeorm-app and typeorm-broken,
// a plain-JS DataSource reading the URL from DATABASE_URL, against a real PostgreSQL.
const TYPEORM = { migration_tool: 'command', command: { preset: 'typeorm' } }

interface Report {
  status: string
  error?: string
  result: Record<string, unknown> & { migrations?: Array<{ name: string; status: string; duration_seconds: number }> }
  recovery?: { suggestions: string[] }
}

async function deploy (
  h: Harness,
  body: Record<string, unknown>
): Promise<{
  id: string
  status: string
  report: Report
  plan: {
    migrations: Array<{ name: string; sql: string; checksum: string; transactional: boolean; warnings: Array<{ rule: string; message: string }> }>
  } | null
  log: string
}> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'], 120_000)
  const log = (await h.request('GET', `/deployments/${done.id}/log`, { as: 'viewer' })).body
  return { id: done.id, status: done.status, report: done.report as unknown as Report, plan: done.plan as never, log }
}

t.test('TypeORM through the command preset: pending → applied, status clean, a failure restored', async (t) => {
  const backups = t.testdir({})
  const h = await startHarness({
    environments: {
      dev: { ...TYPEORM, working_directory: 'typeorm-app' },
      staging: { ...TYPEORM, working_directory: 'typeorm-broken', backup_before_migrate: true, backup: { provider: 'pg_dump', dir: backups }, on_failure: 'restore_backup' }
    }
  })
  t.teardown(h.close)

  t.test('deploy: the tool applies, its output goes into the log, the report has the usual shape', async (t) => {
    const before = (await h.request('GET', '/environments/dev/status', { as: 'viewer' })).json()
    t.equal(before.migration_tool, 'command')
    t.same(before.pending.map((m: { name: string }) => m.name), ['CreateUsers1736500000000', 'AddPosts1736600000000'], 'names parsed from `typeorm migration:show`')
    t.equal(before.up_to_date, false)

    const preview = await deploy(h, { environment: 'dev', dry_run: true })
    t.equal(preview.status, 'succeeded')
    const planned = preview.plan?.migrations ?? []
    t.same(planned.map((m) => m.name), ['CreateUsers1736500000000', 'AddPosts1736600000000'])
    t.match(planned[0]?.sql, /class CreateUsers1736500000000/, 'the reviewer sees the migration file as written')
    t.match(planned[0]?.checksum, /^[0-9a-f]{64}$/)
    t.equal(planned[0]?.transactional, true, 'TypeORM runs migrations in a transaction by default')
    t.match(planned[0]?.warnings, [{ rule: 'external-tool', message: /Applied by typeorm \(command handler\)/ }])

    const done = await deploy(h, { environment: 'dev' })
    t.equal(done.status, 'succeeded', JSON.stringify(done.report))
    t.same(done.report.result.migrations?.map((m) => [m.name, m.status]), [['CreateUsers1736500000000', 'applied'], ['AddPosts1736600000000', 'applied']])
    t.ok(done.report.result.migrations?.every((m) => typeof m.duration_seconds === 'number' && m.duration_seconds >= 0))
    t.equal(done.report.result.migrations_applied, 2)
    t.match(done.log, / {2}│ Migration CreateUsers1736500000000 has been executed successfully\./, 'the tool\'s output, line by line')
    t.match(done.log, /✓ Deploying migration: CreateUsers1736500000000 \(\d+\.\d+s\)\n(.|\n)*✓ Deploying migration: AddPosts1736600000000 \(\d+\.\d+s\)/)
    t.match(done.log, /✓ Verification: All migrations applied/)
    t.notMatch(done.log, /postgres(ql)?:\/\/\w+:(?!\*\*\*)/, 'no credentials in the log')
    t.same(await queryDatabase(h.targets.dev as string, 'SELECT name FROM typeorm_migrations ORDER BY id'), [{ name: 'CreateUsers1736500000000' }, { name: 'AddPosts1736600000000' }], 'TypeORM\'s own history table')
    const after = (await h.request('GET', '/environments/dev/status', { as: 'viewer' })).json()
    t.equal(after.up_to_date, true)
    t.same(after.applied.map((m: { name: string, started_at: string | null }) => [m.name, m.started_at]), [['CreateUsers1736500000000', null], ['AddPosts1736600000000', null]], 'TypeORM keeps no times')
    const again = await deploy(h, { environment: 'dev' })
    t.equal(again.status, 'succeeded')
    t.equal(again.report.result.migrations_applied, 0)
  })

  t.test('a failing migration: the tool\'s message, the backup restored', async (t) => {
    const db = h.targets.staging as string
    await queryDatabase(db, 'CREATE TABLE "keep_me" (id int); INSERT INTO "keep_me" VALUES (1)')
    const failed = await deploy(h, { environment: 'staging' })
    t.equal(failed.status, 'failed')
    t.equal(failed.report.error, 'Migration LinkInvoiceCustomers1737100000000 failed')
    t.equal(failed.report.result.failed_migration, 'LinkInvoiceCustomers1737100000000')
    t.equal(failed.report.result.database_error, 'relation "invoice_customers" does not exist', 'TypeORM\'s own message')
    t.equal(failed.report.result.migrations_applied_before_failure, 0, 'TypeORM ran both in one transaction and rolled both back')
    t.same(failed.report.result.applied_migrations, [])
    t.equal(failed.report.result.rollback_initiated, true)
    t.equal(failed.report.result.rollback_status, 'success')
    t.match(failed.log, /✗ Deploying migration: LinkInvoiceCustomers1737100000000 failed: relation "invoice_customers" does not exist/)
    t.match(failed.log, / {2}│ Migration "LinkInvoiceCustomers1737100000000" failed, error: relation "invoice_customers" does not exist/)
    t.match(failed.log, /✓ Rollback: database restored to backup-/)
    t.same(await queryDatabase(db, `SELECT to_regclass('invoices') AS invoices, (SELECT count(*)::int FROM keep_me) AS kept`), [{ invoices: null, kept: 1 }])
    const status = (await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json()
    t.same(status.pending.map((m: { name: string }) => m.name), ['CreateInvoices1737000000000', 'LinkInvoiceCustomers1737100000000'])
  })
})
