import t from 'tap'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { FIXTURES, startHarness } from '../helpers/harness.js'
import path from 'node:path'

t.test('a target changed between approval and apply fails as "plan is stale" and applies nothing', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  const pending = await h.waitFor(created.json().id, ['pending_approval', 'failed'])
  t.equal(pending.status, 'pending_approval')

  // Someone applies the first migration by hand, the way `prisma migrate deploy` would.
  const source = await prismaHandler.readSource(path.join(FIXTURES, 'app'))
  const target = await prismaHandler.lock(databaseUrl(h.targets.production as string), { waitMs: 5000 })
  await target.apply(source.slice(0, 1), { lockTimeoutMs: 0, statementTimeoutMs: 0 })
  await target.release()

  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice' })).statusCode, 200)
  const done = await h.waitFor(pending.id, ['succeeded', 'failed'])
  t.equal(done.status, 'failed')
  const report = done.report as {
    status: string
    error: string
    result: { migrations_applied_before_failure: number, applied_migrations: string[], stale: { planned: string[], pending_now: string[] } }
  }
  t.equal(report.status, 'error')
  t.match(report.error, /^plan is stale/)
  t.equal(report.result.migrations_applied_before_failure, 0)
  t.same(report.result.applied_migrations, [])
  t.equal(report.result.stale.planned.length, 5)
  t.equal(report.result.stale.pending_now.length, 4)
  const rows = await queryDatabase<{ migration_name: string }>(h.targets.production as string, 'SELECT migration_name FROM _prisma_migrations')
  t.same(rows.map((r) => r.migration_name), [source[0]?.name], 'only the hand-applied migration is there')
  const tables = await queryDatabase<{ n: number }>(h.targets.production as string, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'Post'`)
  t.equal(tables[0]?.n, 0, 'the second migration did not run')
  t.equal(done.steps.find((s) => s.name === 'deploy')?.status, 'failed')
  t.match((await h.request('GET', `/deployments/${pending.id}/log`)).body, /❌ FAILED: Migration Deployer/)
})

t.test('a failing migration: earlier ones stay applied, the failing one rolls back with its history row', async (t) => {
  const h = await startHarness({ environments: { dev: { working_directory: 'broken-third' } } })
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'failed')
  const source = await prismaHandler.readSource(path.join(FIXTURES, 'broken-third'))
  const [first, second, third] = source.map((m) => m.name)
  const report = done.report as {
    status: string
    operation: string
    environment: string
    error: string
    result: Record<string, unknown>
    recovery: { backup_id: unknown; rollback_command: unknown; suggestions: string[] }
  }
  t.equal(report.status, 'error')
  t.equal(report.operation, 'deploy-migrations')
  t.equal(report.environment, 'dev')
  t.equal(report.error, `Migration ${third} failed`)
  t.equal(report.result.failed_migration, third)
  t.equal(report.result.migrations_applied_before_failure, 2)
  t.same(report.result.applied_migrations, [first, second])
  t.match(report.result.database_error, /relation "ProjectTag" does not exist/)
  t.equal(report.result.sqlstate, '42P01')
  t.equal(report.result.rollback_initiated, false)
  t.equal(report.result.backup_id, null)
  t.ok(report.recovery.suggestions.length > 0)
  t.match(report.recovery.suggestions.join('\n'), new RegExp(`${third as string} was rolled back`))

  const rows = await queryDatabase<{ migration_name: string, finished_at: Date | null }>(h.targets.dev as string, 'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY started_at')
  t.same(rows.map((r) => r.migration_name), [first, second], 'the failing migration left no history row')
  t.ok(rows.every((r) => r.finished_at !== null))
  const tag = await queryDatabase<{ n: number }>(h.targets.dev as string, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'Tag'`)
  t.equal(tag[0]?.n, 0, 'the failing migration\'s partial changes were rolled back')

  const log = (await h.request('GET', `/deployments/${done.id}/log`)).body
  t.match(log, new RegExp(`✗ Deploying migration: ${third as string} failed: relation "ProjectTag" does not exist`))
  t.match(log, /❌ FAILED: Migration Deployer/)
  t.equal(done.steps.find((s) => s.name === 'deploy')?.status, 'failed')
})

t.test('preview (operation or dry_run) reports the pending SQL and touches nothing', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  for (const body of [{ environment: 'production', operation: 'preview-migrations' }, { environment: 'production', dry_run: true }]) {
    const created = await h.request('POST', '/deployments', { body })
    t.equal(created.statusCode, 202)
    const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
    t.equal(done.status, 'succeeded', 'a preview of a protected environment needs no approval')
    t.equal(done.operation, 'preview-migrations')
    t.equal(done.dry_run, true)
    const report = done.report as {
      status: string
      operation: string
      message: string
      result: {
        pending_migrations: number
        migrations: Array<{ name: string; sql: string; estimated_duration_seconds: number }>
        total_estimated_duration_seconds: number
      }
    }
    t.equal(report.status, 'success')
    t.equal(report.operation, 'preview-migrations')
    t.equal(report.message, 'Preview only - no changes applied')
    t.equal(report.result.pending_migrations, 5)
    t.match(report.result.migrations[0]?.sql, /CREATE TABLE "User"/)
    t.ok(report.result.migrations.every((m) => m.estimated_duration_seconds > 0))
    t.ok(report.result.total_estimated_duration_seconds > 0)
    t.equal(done.steps.find((s) => s.name === 'preview')?.status, 'passed')
    t.notOk(done.steps.some((s) => s.name === 'deploy'))
  }
  const tables = await queryDatabase<{ n: number }>(h.targets.production as string, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`)
  t.equal(tables[0]?.n, 0, 'the target has no tables at all, not even _prisma_migrations')
})
