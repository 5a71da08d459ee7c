import { existsSync } from 'node:fs'
import t from 'tap'
import { pgDumpText, rowCounts } from '../helpers/database-snapshots.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'
import { FIXTURES } from '../helpers/harness.js'
import path from 'node:path'

const backedUp = { backup_before_migrate: true, backup: { provider: 'pg_dump', dir: '', keep: 3 }, on_failure: 'restore_backup' }

async function deployAndWait (h: Harness, body: Record<string, unknown>): Promise<Awaited<ReturnType<Harness['waitFor']>>> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  return await h.waitFor(created.json().id, ['succeeded', 'failed', 'pending_approval'])
}

t.test('a failing migration restores the backup: schema, data and history exactly as before', async (t) => {
  const dir = t.testdir({})
  const h = await startHarness({ environments: { staging: { ...backedUp, backup: { provider: 'pg_dump', dir, keep: 3 } } } })
  t.teardown(h.close)
  const db = h.targets.staging as string
  const app = await readPrismaMigrations(path.join(FIXTURES, 'app'))
  const inline = app.map((m) => ({ name: m.name, sql: m.sql }))
  t.equal((await deployAndWait(h, { environment: 'staging', migrations: inline })).status, 'succeeded')
  await queryDatabase(db, `INSERT INTO "User" (email, "displayName") VALUES ('a@x', 'a'), ('b@x', 'b'); INSERT INTO "Team" (name, slug) VALUES ('t', 't'); INSERT INTO "Post" (title, "authorId") SELECT 'hello', id FROM "User"`)
  const schemaBefore = await pgDumpText(db, ['--schema-only'])
  const rowsBefore = await rowCounts(db)

  const failing = await deployAndWait(h, {
    environment: 'staging',
    migrations: [...inline,
      { name: '20250201000000_categories', sql: 'CREATE TYPE "Tier" AS ENUM (\'FREE\', \'PRO\');\nCREATE TABLE "Category" (id SERIAL PRIMARY KEY, tier "Tier" NOT NULL DEFAULT \'FREE\');\nINSERT INTO "Category" (tier) VALUES (\'PRO\');\n' },
      { name: '20250202000000_post_category', sql: 'ALTER TABLE "Post" ADD COLUMN "categoryId" INTEGER;\nUPDATE "Post" SET "categoryId" = 1;\nALTER TABLE "Post" ADD CONSTRAINT "Post_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"(id);\nDELETE FROM "Team";\n' },
      { name: '20250203000000_broken', sql: 'INSERT INTO "Nope" VALUES (1);\n' }]
  })
  t.equal(failing.status, 'failed')
  const report = failing.report as {
    error: string
    result: {
      backup_id: string
      failed_migration: string
      migrations_applied_before_failure: number
      applied_migrations: string[]
      rollback_initiated: boolean
      rollback_status: string
    }
    recovery: { backup_id: string, rollback_command: string, suggestions: string[] }
  }
  t.equal(report.error, 'Migration 20250203000000_broken failed')
  t.match(report.result.backup_id, /^backup-\d{8}-\d{6}/)
  t.equal(report.result.migrations_applied_before_failure, 2)
  t.same(report.result.applied_migrations, ['20250201000000_categories', '20250202000000_post_category'])
  t.equal(report.result.rollback_initiated, true)
  t.equal(report.result.rollback_status, 'success')
  t.equal(report.recovery.backup_id, report.result.backup_id)
  t.match(report.recovery.suggestions[0], /restored to backup/)
  t.same(failing.steps.filter((s) => ['backup', 'deploy', 'rollback'].includes(s.name)).map((s) => [s.name, s.status]), [['backup', 'passed'], ['deploy', 'failed'], ['rollback', 'passed']])

  t.equal(await pgDumpText(db, ['--schema-only']), schemaBefore, 'schema identical to before the deployment')
  t.same(await rowCounts(db), rowsBefore, 'row counts identical, history table included')
  const log = (await h.request('GET', `/deployments/${failing.id}/log`)).body
  t.match(log, new RegExp(`✓ Backup created: ${report.result.backup_id}`))
  t.match(log, /↺ Rollback: restoring backup/)
  t.match(log, /✓ Rollback: database restored to/)

  const listed = await h.request('GET', '/environments/staging/backups')
  t.equal(listed.statusCode, 200)
  t.ok(
    listed.json().backups.some((b: { id: string; verified: boolean; size_bytes: number }) => b.id === report.result.backup_id && b.verified && b.size_bytes > 0)
  )
  t.notMatch(listed.body, /file|\/tmp|password/i, 'no file paths or secrets in the listing')
})

t.test('a failing post-deployment SQL check triggers the restore', async (t) => {
  const dir = t.testdir({})
  const h = await startHarness({
    environments: {
      production: {
        ...backedUp,
        backup: { provider: 'pg_dump', dir, keep: 3 },
        working_directory: 'app',
        protected: true,
        approval: { required_approvals: 1, roles: ['approver'] },
        health_check: { sql: [{ name: 'no_user_profiles_yet', query: `SELECT to_regclass('"UserProfile"') IS NULL` }] }
      }
    }
  })
  t.teardown(h.close)
  const db = h.targets.production as string
  const first = await deployAndWait(h, { environment: 'production' })
  t.equal(first.status, 'pending_approval')
  await h.request('POST', `/deployments/${first.id}/approve`, { as: 'alice' })
  const firstDone = await h.waitFor(first.id, ['succeeded', 'failed'])
  t.equal(firstDone.status, 'succeeded', JSON.stringify(firstDone.report))
  t.match((firstDone.report as { result: { backup_id: string } }).result.backup_id, /^backup-/)
  t.ok(firstDone.steps.findIndex((s) => s.name === 'approval') < firstDone.steps.findIndex((s) => s.name === 'backup'), 'the backup is taken after approval, right before applying')
  const schemaBefore = await pgDumpText(db, ['--schema-only'])

  const next = await deployAndWait(h, { environment: 'production', working_directory: 'app-next' })
  await h.request('POST', `/deployments/${next.id}/approve`, { as: 'alice' })
  const done = await h.waitFor(next.id, ['succeeded', 'failed'])
  t.equal(done.status, 'failed')
  const report = done.report as {
    error: string
    result: { health_check_after: string; auto_rollback_triggered: boolean; rollback_status: string; backup_id: string }
  }
  t.equal(report.error, 'Post-deployment health check failed')
  t.equal(report.result.health_check_after, 'failed')
  t.equal(report.result.auto_rollback_triggered, true)
  t.equal(report.result.rollback_status, 'success')
  t.equal(await pgDumpText(db, ['--schema-only']), schemaBefore, 'UserProfile is gone again')
  t.equal((await queryDatabase<{ n: number }>(db, 'SELECT count(*)::int AS n FROM _prisma_migrations'))[0]?.n, 5)
})

t.test('a backup that fails aborts the deployment with the backup-failure shape; nothing is applied', async (t) => {
  const h = await startHarness({ environments: { staging: { ...backedUp, working_directory: 'app', backup: { provider: 'pg_dump', dir: t.testdir({}), pg_dump_path: '/nonexistent/pg_dump' } } } })
  t.teardown(h.close)
  const done = await deployAndWait(h, { environment: 'staging' })
  t.equal(done.status, 'failed')
  const report = done.report as { status: string, error: string, result: { backup_error: string, backup_id: null }, recovery: { suggestions: string[] } }
  t.equal(report.status, 'error')
  t.match(report.error, /^Backup failed: /)
  t.match(report.result.backup_error, /\/nonexistent\/pg_dump/)
  t.equal(report.result.backup_id, null)
  t.match(report.recovery.suggestions.join(' '), /skip_backup/)
  t.equal(done.steps.find((s) => s.name === 'backup')?.status, 'failed')
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets.staging as string, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  t.equal(exists?.found, false, 'nothing applied')

  // skip_backup deploys anyway, and says so.
  const skipped = await deployAndWait(h, { environment: 'staging', skip_backup: true })
  t.equal(skipped.status, 'succeeded')
  t.equal(skipped.steps.find((s) => s.name === 'backup')?.status, 'skipped')
})

t.test('backups are pruned to keep', async (t) => {
  const dir = t.testdir({})
  const h = await startHarness({ environments: { staging: { ...backedUp, backup: { provider: 'pg_dump', dir, keep: 2 } } } })
  t.teardown(h.close)
  const files: string[] = []
  for (let i = 0; i < 4; i++) {
    const done = await deployAndWait(h, { environment: 'staging', migrations: [{ name: `2025010${i}000000_t${i}`, sql: `CREATE TABLE t${i} (id int);` }].slice(0, 1).concat(Array.from({ length: i }, (_, j) => ({ name: `2025010${j}000000_t${j}`, sql: `CREATE TABLE t${j} (id int);` }))).filter((m, k, all) => all.findIndex((x) => x.name === m.name) === k) })
    t.equal(done.status, 'succeeded', JSON.stringify(done.report))
    const id = (done.report as { result: { backup_id: string } }).result.backup_id
    const [row] = await queryDatabase<{ file: string }>(h.runtime.settings.databaseUrl.split('/').pop() as string, 'SELECT file FROM backups WHERE id = $1', [id])
    files.push(row?.file as string)
  }
  const listed = (await h.request('GET', '/environments/staging/backups')).json().backups as Array<{ id: string }>
  t.equal(listed.length, 2)
  t.same(files.map((f) => existsSync(f)), [false, false, true, true])
})
