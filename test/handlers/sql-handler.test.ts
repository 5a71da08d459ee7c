import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { sha256Hex } from '../../src/lib/checksum.js'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { FIXTURES, startHarness, type Harness } from '../helpers/harness.js'

const SQL_APP = ['V1__create_accounts', 'V1_1__add_account_email', 'V1_9__create_ledger', 'V1_10__ledger_account_index', 'V2__accounts_name_index_concurrently']

interface Report {
  error?: string
  result: {
    migrations?: Array<{ name: string, status: string }>
    failed_migration?: string
    migrations_applied_before_failure?: number
    applied_migrations?: string[]
    database_error?: string
  }
  recovery?: { suggestions: string[] }
}

async function deploy (
  h: Harness,
  body: Record<string, unknown>
): Promise<{
  id: string
  status: string
  report: Report
  plan: { migrations: Array<{ name: string; transactional: boolean; warnings: Array<{ rule: string }> }> } | null
}> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  return { id: done.id, status: done.status, report: done.report as unknown as Report, plan: done.plan as never }
}

t.test('a Flyway-style folder deploys in version order with its own history table', async (t) => {
  const h = await startHarness({ environments: { staging: { migration_tool: 'sql', working_directory: 'sql-app' } } })
  t.teardown(h.close)
  const db = h.targets.staging as string

  const before = (await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json()
  t.equal(before.migration_tool, 'sql')
  t.equal(before.history_table_exists, false)
  t.same(before.pending.map((m: { name: string }) => m.name), SQL_APP, 'V1_9 before V1_10: versions compare numerically')

  const done = await deploy(h, { environment: 'staging' })
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.same(done.report.result.migrations?.map((m) => [m.name, m.status]), SQL_APP.map((name) => [name, 'applied']))
  const planned = done.plan?.migrations ?? []
  t.same(planned.map((m) => m.transactional), [true, true, true, true, false], 'the CONCURRENTLY file is planned outside a transaction')
  t.ok(planned[4]?.warnings.some((w) => w.rule === 'non-transactional'))

  const rows = await queryDatabase<{
    version: string
    name: string
    checksum: string
    finished_at: Date | null
    duration_ms: number | null
    logs: string | null
    rolled_back_at: Date | null
  }>(db, 'SELECT version, name, checksum, finished_at, duration_ms, logs, rolled_back_at FROM migration_deployer_history ORDER BY id')
  t.same(rows.map((r) => [r.version, r.name]), [['1', SQL_APP[0]], ['1.1', SQL_APP[1]], ['1.9', SQL_APP[2]], ['1.10', SQL_APP[3]], ['2', SQL_APP[4]]])
  for (const [index, row] of rows.entries()) {
    t.equal(row.checksum, sha256Hex(readFileSync(path.join(FIXTURES, 'sql-app', 'migrations', `${SQL_APP[index] as string}.sql`))), `${row.name}: sha256 hex of the file's bytes`)
    t.ok(row.finished_at instanceof Date && row.duration_ms !== null && row.duration_ms >= 0 && row.logs === null && row.rolled_back_at === null)
  }
  const [index] = await queryDatabase<{ valid: boolean }>(db, `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'accounts_name_idx'::regclass`)
  t.equal(index?.valid, true, 'the concurrent index was built, valid')
  t.same(await queryDatabase(db, `SELECT to_regclass('_prisma_migrations') AS t`), [{ t: null }], 'no Prisma table')

  const after = (await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json()
  t.equal(after.up_to_date, true)
  t.same(after.applied.map((m: { name: string }) => m.name), SQL_APP)
  const log = (await h.request('GET', `/deployments/${done.id}/log`, { as: 'viewer' })).body
  t.match(log, /✓ Deploying migration: V1_10__ledger_account_index \(\d+\.\d+s\)/)
  t.match(log, /✅ COMPLETED: Migration Deployer\nEnvironment: staging\nMigrations Applied: 5/)

  const again = await deploy(h, { environment: 'staging' })
  t.equal(again.status, 'succeeded')
  t.equal((again.report.result as { migrations_applied?: number }).migrations_applied, 0, 'nothing pending the second time')
})

t.test('drift, a failing file, a failing CONCURRENTLY file with resolve, the lock and inline uploads', async (t) => {
  const workspace = t.testdir({})
  cpSync(path.join(FIXTURES, 'sql-app'), path.join(workspace, 'app'), { recursive: true })
  cpSync(path.join(FIXTURES, 'sql-broken'), path.join(workspace, 'broken'), { recursive: true })
  const h = await startHarness({
    workspaceRoot: workspace,
    environments: {
      staging: { migration_tool: 'sql', working_directory: 'app' },
      qa: { migration_tool: 'sql', working_directory: 'broken', sql: { history_table: 'schema_history' } },
      perf: { migration_tool: 'sql', working_directory: 'app', migration_lock_wait: '1s' }
    }
  })
  t.teardown(h.close)

  t.test('drift: an applied file edited or removed blocks deploy mode', async (t) => {
    t.equal((await deploy(h, { environment: 'staging' })).status, 'succeeded')
    const edited = path.join(workspace, 'app', 'migrations', 'V1_1__add_account_email.sql')
    const original = readFileSync(edited)
    writeFileSync(edited, `${original.toString()}-- edited after it was applied\n`)
    const removed = path.join(workspace, 'app', 'migrations', 'V1_9__create_ledger.sql')
    const removedText = readFileSync(removed)
    rmSync(removed)
    t.teardown(() => { writeFileSync(edited, original); writeFileSync(removed, removedText) })
    const status = (await h.request('GET', '/environments/staging/status')).json()
    t.same(status.drifted.map((d: { name: string, reason: string }) => [d.name, d.reason]), [['V1_1__add_account_email', 'checksum_changed'], ['V1_9__create_ledger', 'missing_from_source']])
    const blocked = await deploy(h, { environment: 'staging', skip_health_check: true })
    t.equal(blocked.status, 'failed')
    t.match(blocked.report.error, /^Drift detected: V1_1__add_account_email \(edited after it was applied\), V1_9__create_ledger \(applied but missing from the source\)/)
  })

  t.test('a failing file rolls back with its row; earlier ones stay, later ones do not run', async (t) => {
    const db = h.targets.qa as string
    const failed = await deploy(h, { environment: 'qa' })
    t.equal(failed.status, 'failed')
    t.equal(failed.report.error, 'Migration V2__add_widget_owner failed')
    t.equal(failed.report.result.failed_migration, 'V2__add_widget_owner')
    t.equal(failed.report.result.migrations_applied_before_failure, 1)
    t.same(failed.report.result.applied_migrations, ['V1__create_widgets'])
    t.equal(failed.report.result.database_error, 'relation "owners" does not exist')
    t.match(failed.report.recovery?.suggestions.join('\n'), /was rolled back and is not recorded/)
    t.same(await queryDatabase(db, 'SELECT name, finished_at IS NOT NULL AS finished FROM schema_history ORDER BY id'), [{ name: 'V1__create_widgets', finished: true }], 'the configured history table; no row for the failed file')
    t.same(await queryDatabase(db, `SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets' ORDER BY ordinal_position`), [{ column_name: 'id' }, { column_name: 'name' }], 'V2\'s first statement rolled back too, V3 never ran')
    const log = (await h.request('GET', `/deployments/${failed.id}/log`, { as: 'viewer' })).body
    t.match(log, /✗ Deploying migration: V2__add_widget_owner failed: relation "owners" does not exist/)
    t.match(log, /❌ FAILED: Migration Deployer/)
  })

  t.test('a failing non-transactional file leaves its row failed until resolved', async (t) => {
    const db = h.targets.perf as string
    await queryDatabase(db, 'CREATE TABLE "accounts_seed" (name text); INSERT INTO "accounts_seed" VALUES (\'x\'), (\'x\')')
    const concurrent = path.join(workspace, 'app', 'migrations', 'V2__accounts_name_index_concurrently.sql')
    const original = readFileSync(concurrent)
    writeFileSync(concurrent, 'CREATE UNIQUE INDEX CONCURRENTLY "accounts_seed_name_key" ON "accounts_seed" ("name");\n')
    t.teardown(() => { writeFileSync(concurrent, original) })
    const failed = await deploy(h, { environment: 'perf' })
    t.equal(failed.status, 'failed')
    t.equal(failed.report.result.failed_migration, 'V2__accounts_name_index_concurrently')
    t.match(failed.report.result.database_error, /could not create unique index "accounts_seed_name_key".*invalid index left behind: public\.accounts_seed_name_key on accounts_seed/)
    const [row] = await queryDatabase<{ finished_at: Date | null, logs: string }>(db, `SELECT finished_at, logs FROM migration_deployer_history WHERE name = 'V2__accounts_name_index_concurrently'`)
    t.equal(row?.finished_at, null, 'the row is left failed')
    t.match(row?.logs, /could not create unique index/)
    const status = (await h.request('GET', '/environments/perf/status')).json()
    t.same(status.failed.map((f: { name: string }) => f.name), ['V2__accounts_name_index_concurrently'])

    await queryDatabase(db, 'DROP INDEX "accounts_seed_name_key"; DELETE FROM "accounts_seed"')
    const resolved = await h.request('POST', '/environments/perf/migrations/V2__accounts_name_index_concurrently/resolve', { as: 'alice', body: { as: 'rolled_back' } })
    t.equal(resolved.statusCode, 200, resolved.body)
    t.equal(resolved.json().rows_changed, 1)
    const retried = await deploy(h, { environment: 'perf' })
    t.equal(retried.status, 'succeeded', JSON.stringify(retried.report))
    t.same(retried.report.result.migrations?.map((m) => m.name), ['V2__accounts_name_index_concurrently'])
  })

  t.test('the lock: pg_advisory_lock(1835296112), a bounded wait naming the holder', async (t) => {
    const holder = new pg.Client({ connectionString: databaseUrl(h.targets.perf as string), application_name: 'someone-else' })
    await holder.connect()
    t.teardown(async () => { await holder.end() })
    await holder.query('SELECT pg_advisory_lock(1835296112)')
    await queryDatabase(h.targets.perf as string, 'DELETE FROM migration_deployer_history WHERE name = \'V2__accounts_name_index_concurrently\'; DROP INDEX IF EXISTS "accounts_seed_name_key"')
    const waited = await deploy(h, { environment: 'perf' })
    t.equal(waited.status, 'failed')
    t.match(waited.report.error, /timed out after 1s waiting for the migration lock \(pg_advisory_lock\(1835296112\)\) held by pid \d+ \(application "someone-else"/)
  })

  t.test('inline uploads are ordered by version and bad names refused with a 400', async (t) => {
    const refused = await h.request('POST', '/deployments', { body: { environment: 'qa', migrations: [{ name: 'R__views.sql', sql: 'SELECT 1;' }] } })
    t.equal(refused.statusCode, 400)
    t.match(refused.json().error, { code: 'VALIDATION_FAILED', message: /V1_2__add_index/ })
    const duplicate = await h.request('POST', '/deployments', { body: { environment: 'qa', migrations: [{ name: 'V1__a', sql: 'SELECT 1;' }, { name: 'V1.0__b', sql: 'SELECT 1;' }] } })
    t.equal(duplicate.statusCode, 400)
    t.match(duplicate.json().error, { code: 'DUPLICATE_MIGRATION_VERSION', message: /V1__a and V1\.0__b/ })
    const preview = await deploy(h, { environment: 'qa', dry_run: true, migrations: [{ name: 'V1__create_widgets.sql', sql: readFileSync(path.join(workspace, 'broken', 'migrations', 'V1__create_widgets.sql'), 'utf8') }, { name: 'V10__b.sql', sql: 'SELECT 10;' }, { name: 'V9__a.sql', sql: 'SELECT 9;' }] })
    t.equal(preview.status, 'succeeded')
    t.same(preview.plan?.migrations.map((m) => m.name), ['V9__a', 'V10__b'], 'V1 is applied already; V9 before V10')
  })
})
