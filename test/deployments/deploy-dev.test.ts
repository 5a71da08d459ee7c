import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { sha256Hex } from '../../src/lib/checksum.js'
import { queryDatabase } from '../helpers/databases.js'
import { FIXTURES, startHarness } from '../helpers/harness.js'

const APP_MIGRATIONS = path.join(FIXTURES, 'app/prisma/migrations')
const migrationNames = readdirSync(APP_MIGRATIONS).filter((name) => /^\d+_/.test(name)).sort()

t.test('deploying the example project to dev applies every migration and records it as Prisma would', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)

  const created = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  t.equal(created.statusCode, 202, created.body)
  const id = created.json().id as string
  t.match(id, /^dep_[0-9A-Z]{26}$/)
  t.equal(created.headers.location, `/deployments/${id}`)

  const done = await h.waitFor(id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  const report = done.report as {
    status: string
    operation: string
    environment: string
    message: string
    result: {
      migrations_applied: number
      migrations: Array<{ name: string; status: string; duration_seconds: number }>
      total_duration_seconds: number
      backup_id: null
      health_check_before: string
      health_check_after: string
    }
  }
  t.equal(report.status, 'success')
  t.equal(report.operation, 'deploy-migrations')
  t.equal(report.environment, 'dev')
  t.equal(report.message, `Successfully applied ${migrationNames.length} migrations to dev`)
  t.equal(report.result.migrations_applied, migrationNames.length)
  t.same(report.result.migrations.map((m) => m.name), migrationNames)
  for (const migration of report.result.migrations) {
    t.equal(migration.status, 'applied')
    t.type(migration.duration_seconds, 'number')
    t.ok(migration.duration_seconds >= 0)
  }
  t.equal(report.result.health_check_before, 'passed')
  t.equal(report.result.health_check_after, 'passed')
  t.type(report.result.total_duration_seconds, 'number')
  t.same(done.steps.map((s) => [s.name, s.status]), [
    ['load_configuration', 'passed'], ['validate_environment', 'passed'], ['determine_mode', 'passed'], ['health_check_before', 'passed'],
    ['check_pending', 'passed'], ['approval', 'skipped'], ['backup', 'skipped'], ['deploy', 'passed'], ['health_check_after', 'passed'], ['verify', 'passed']
  ])

  // The history table is Prisma's, column for column.
  const columns = await queryDatabase(h.targets.dev as string, `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
    FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`)
  t.same(columns, [
    { column_name: 'id', data_type: 'character varying', character_maximum_length: 36, is_nullable: 'NO', column_default: null },
    { column_name: 'checksum', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'NO', column_default: null },
    { column_name: 'finished_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
    { column_name: 'migration_name', data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO', column_default: null },
    { column_name: 'logs', data_type: 'text', character_maximum_length: null, is_nullable: 'YES', column_default: null },
    { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
    { column_name: 'started_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
    { column_name: 'applied_steps_count', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: '0' }
  ])
  const rows = await queryDatabase<{
    id: string
    checksum: string
    migration_name: string
    finished_at: Date | null
    applied_steps_count: number
    logs: string | null
    rolled_back_at: Date | null
  }>(h.targets.dev as string, 'SELECT * FROM _prisma_migrations ORDER BY started_at')
  t.same(rows.map((r) => r.migration_name), migrationNames)
  for (const row of rows) {
    const bytes = readFileSync(path.join(APP_MIGRATIONS, row.migration_name, 'migration.sql'))
    t.equal(row.checksum, sha256Hex(bytes), `checksum of ${row.migration_name} is sha256 of the file bytes`)
    t.match(row.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    t.ok(row.finished_at instanceof Date)
    t.equal(row.applied_steps_count, 1)
    t.equal(row.logs, null)
    t.equal(row.rolled_back_at, null)
  }
  // The schema really exists.
  const tables = await queryDatabase<{ table_name: string }>(h.targets.dev as string, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`)
  t.same(tables.map((r) => r.table_name), ['AuditLog', 'Membership', 'Post', 'Team', 'User', '_prisma_migrations'])

  // Deploying again finds nothing pending.
  const again = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const second = await h.waitFor(again.json().id, ['succeeded', 'failed'])
  t.equal(second.status, 'succeeded')
  t.same(second.report, { status: 'success', operation: 'deploy-migrations', environment: 'dev', mode: 'dev', result: { migrations_applied: 0, message: 'No pending migrations' }, message: 'No pending migrations' })
  t.equal((await queryDatabase(h.targets.dev as string, 'SELECT count(*)::int AS n FROM _prisma_migrations'))[0]?.n, migrationNames.length)

  // The human log follows SPEC §7.
  const log = await h.request('GET', `/deployments/${id}/log`)
  t.equal(log.statusCode, 200)
  t.match(log.headers['content-type'], /^text\/plain/)
  const lines = log.body.split('\n')
  t.equal(lines[0], '🎯 STARTING: Migration Deployer')
  t.equal(lines[1], 'Environment: dev')
  t.equal(lines[2], 'Mode: dev (development mode)')
  t.ok(lines.includes('✓ Configuration loaded'))
  t.ok(lines.includes('✓ Environment validated: dev'))
  t.ok(lines.includes('✓ Pre-deployment health check: passed'))
  t.ok(lines.includes(`✓ Pending migrations: ${migrationNames.length} found`))
  for (const name of migrationNames) t.ok(lines.some((line) => new RegExp(`^✓ Deploying migration: ${name} \\(\\d+\\.\\d+s\\)$`).test(line)), `log line for ${name}`)
  t.ok(lines.includes('✓ Verification: All migrations applied'))
  t.ok(lines.includes('✅ COMPLETED: Migration Deployer'))
  t.ok(lines.includes(`Migrations Applied: ${migrationNames.length}`))
  t.ok(lines.includes('Status: ✓ Healthy'))
})

t.test('a new migration since the last deploy is the only one applied', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const first = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal((await h.waitFor(first.json().id, ['succeeded', 'failed'])).status, 'succeeded')
  const next = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next' } })
  const done = await h.waitFor(next.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded')
  const result = (done.report as { result: { migrations_applied: number, migrations: Array<{ name: string }> } }).result
  t.equal(result.migrations_applied, 1)
  t.same(result.migrations.map((m) => m.name), ['20250124140000_add_user_profiles'])
})
