import t from 'tap'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'

interface HistoryRow { migration_name: string, finished_at: Date | null, applied_steps_count: number, logs: string | null, rolled_back_at: Date | null }
const history = async (db: string): Promise<HistoryRow[]> => await queryDatabase<HistoryRow>(db, 'SELECT migration_name, finished_at, applied_steps_count, logs, rolled_back_at FROM _prisma_migrations ORDER BY started_at')

t.test('CREATE INDEX CONCURRENTLY runs outside a transaction and is recorded like Prisma records it', async (t) => {
  const h = await startHarness({ environments: { dev: { working_directory: 'concurrent-index' } } })
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  const [first, second] = done.plan?.migrations ?? []
  t.equal(first?.transactional, true)
  t.equal(second?.transactional, false)
  t.ok(second?.warnings.some((w) => w.rule === 'non-transactional' && /CREATE INDEX CONCURRENTLY "User_name_idx" cannot run inside a transaction block/.test(w.message)))
  const rows = await history(h.targets.dev as string)
  t.equal(rows.length, 2)
  t.ok(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1 && r.logs === null))
  const index = await queryDatabase<{ indisvalid: boolean }>(h.targets.dev as string, `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'User_name_idx'`)
  t.same(index, [{ indisvalid: true }])
})

t.test('a failed concurrent index build leaves Prisma\'s failed row, reports the invalid index, and blocks until resolved', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const db = h.targets.dev as string
  const migrations = [
    { name: '20250101000000_accounts', sql: 'CREATE TABLE accounts (id int, email text);\nINSERT INTO accounts VALUES (1, \'a@x\'), (2, \'a@x\');\n' },
    { name: '20250102000000_unique_email', sql: 'CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);\n' }
  ]
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations } })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'failed')
  const report = done.report as {
    error: string
    result: { failed_migration: string, migrations_applied_before_failure: number, applied_migrations: string[], database_error: string }
    recovery: { suggestions: string[] }
  }
  t.equal(report.error, 'Migration 20250102000000_unique_email failed')
  t.equal(report.result.migrations_applied_before_failure, 1)
  t.same(report.result.applied_migrations, ['20250101000000_accounts'])
  t.match(report.result.database_error, /could not create unique index "accounts_email_key"/)
  t.match(report.result.database_error, /invalid index left behind: public\.accounts_email_key on accounts/)
  t.match(report.recovery.suggestions[0], /resolve/)
  const rows = await history(db)
  t.equal(rows.length, 2)
  t.equal(rows[1]?.migration_name, '20250102000000_unique_email')
  t.equal(rows[1]?.finished_at, null, 'the failed row stays, as Prisma leaves it')
  t.equal(rows[1]?.applied_steps_count, 0)
  t.match(rows[1]?.logs, /could not create unique index/)

  const blocked = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations } })
  const blockedDone = await h.waitFor(blocked.json().id, ['succeeded', 'failed'])
  t.equal(blockedDone.status, 'failed')
  t.match(JSON.stringify(blockedDone.report), /unfinished or failed migrations: 20250102000000_unique_email|failed in an earlier deployment/)

  // Repair by hand, resolve as rolled back, deploy again: it now applies.
  await queryDatabase(db, 'DROP INDEX accounts_email_key; DELETE FROM accounts WHERE id = 2')
  t.equal((await h.request('POST', '/environments/dev/migrations/20250102000000_unique_email/resolve', { as: 'alice', body: { as: 'rolled_back' } })).statusCode, 200)
  const retry = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations } })
  const retryDone = await h.waitFor(retry.json().id, ['succeeded', 'failed'])
  t.equal(retryDone.status, 'succeeded', JSON.stringify(retryDone.report))
  const final = await history(db)
  t.same(final.map((r) => [r.migration_name, r.finished_at !== null, r.rolled_back_at !== null]), [
    ['20250101000000_accounts', true, false], ['20250102000000_unique_email', false, true], ['20250102000000_unique_email', true, false]
  ])
})

t.test('files with their own BEGIN/COMMIT apply as written', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const migrations = [
    { name: '20250101000000_own_tx', sql: 'BEGIN;\nCREATE TABLE widgets (id int primary key);\nINSERT INTO widgets VALUES (1), (2);\nCOMMIT;\n' },
    { name: '20250102000000_after', sql: 'ALTER TABLE widgets ADD COLUMN name text;\n' }
  ]
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations } })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal(done.plan?.migrations[0]?.transactional, false)
  t.ok(done.plan?.migrations[0]?.warnings.some((w) => w.rule === 'own-transaction'))
  t.same((await queryDatabase<{ n: number }>(h.targets.dev as string, 'SELECT count(*)::int AS n FROM widgets'))[0]?.n, 2)
  t.ok((await history(h.targets.dev as string)).every((r) => r.finished_at !== null))
})

t.test('squawk warnings reach the plan a release manager reviews; block_on rules fail the plan', async (t) => {
  const h = await startHarness({
    environments: {
      production: { working_directory: 'drop-column', protected: true, approval: { required_approvals: 1, roles: ['approver'] } },
      staging: { working_directory: 'drop-column', lint: { block_on: ['ban-drop-column'] } }
    }
  })
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  const pending = await h.waitFor(created.json().id, ['pending_approval', 'failed'])
  t.equal(pending.status, 'pending_approval')
  const drop = pending.plan?.migrations.find((m) => /DROP COLUMN/.test(m.sql))
  t.ok(drop?.warnings.some((w) => w.rule === 'ban-drop-column'), JSON.stringify(drop?.warnings))
  t.notOk(pending.plan?.migrations.some((m) => m.warnings.some((w) => w.rule === 'require-lock-timeout')), 'noise rules excluded by default')

  const preview = await h.request('POST', '/deployments', { body: { environment: 'production', dry_run: true } })
  const previewDone = await h.waitFor(preview.json().id, ['succeeded'])
  t.match(JSON.stringify(previewDone.report), /ban-drop-column/)

  const blocked = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  const blockedDone = await h.waitFor(blocked.json().id, ['succeeded', 'failed'])
  t.equal(blockedDone.status, 'failed')
  t.match((blockedDone.report as { error: string }).error, /^Blocked by lint rules \(lint\.block_on\): \d+_\w+: ban-drop-column/)
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets.staging as string, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  t.equal(exists?.found, false, 'nothing applied')
})

t.test('a migration that does not parse fails the plan before anything runs', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', {
    body: { environment: 'dev', migrations: [{ name: '20250101000000_ok', sql: 'CREATE TABLE ok (id int);' }, { name: '20250102000000_broken', sql: 'CREATE TABLE (;\n' }] }
  })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'failed')
  t.match((done.report as { error: string }).error, /does not parse: 20250102000000_broken line 1: syntax error/)
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets.dev as string, `SELECT to_regclass('ok') IS NOT NULL AS found`)
  t.equal(exists?.found, false, 'not even the valid first migration ran')
})
