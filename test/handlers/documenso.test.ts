import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createHash } from 'node:crypto'
import path from 'node:path'
import t from 'tap'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { documensoSkip, DOCUMENSO } from '../helpers/corpus.js'
import { startHarness } from '../helpers/harness.js'

/**
 * A real history: documenso's 163 Prisma migrations (test/helpers/corpus.ts: skipped without them), applied
 * through the whole service — API, queue, worker, pipeline, Prisma handler — onto an empty database.
 *
 * Extensions: the history creates the two it needs itself (`CREATE EXTENSION IF NOT EXISTS pgcrypto`
 * in 20250522054049_add_id_generator, `pg_trgm` in 20260302223702_optimize_recipient_indexes), and its
 * earlier uses of `gen_random_uuid()` are core PostgreSQL since 13. So the test creates nothing first;
 * it needs only that the server has both extensions available (Debian's postgresql-contrib).
 */

// Prisma's order: folder names compared as bytes (all ASCII here, so Buffer.compare on the names).
const migrationFolders = (): string[] => readdirSync(DOCUMENSO)
  .filter((name) => statSync(path.join(DOCUMENSO, name)).isDirectory() && existsSync(path.join(DOCUMENSO, name, 'migration.sql')))
  .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))

t.test('documenso\'s 163 migrations deploy through the service as Prisma would record them', { skip: documensoSkip() }, async (t) => {
  const folders = migrationFolders()
  t.equal(folders.length, 163, 'the corpus has 163 migration folders')
  const h = await startHarness({ workspaceRoot: path.dirname(DOCUMENSO), environments: { dev: { working_directory: path.basename(DOCUMENSO) } } })
  t.teardown(h.close)
  const target = h.targets.dev as string

  const available = await queryDatabase<{ name: string }>(target, `SELECT name FROM pg_available_extensions WHERE name IN ('pgcrypto', 'pg_trgm') ORDER BY name`)
  t.same(available.map((r) => r.name), ['pg_trgm', 'pgcrypto'], 'the server offers pgcrypto and pg_trgm (postgresql-contrib)')
  t.same(await queryDatabase(target, `SELECT extname FROM pg_extension WHERE extname IN ('pgcrypto', 'pg_trgm')`), [], 'neither is installed before the deploy')

  const started = Date.now()
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev', source: { ref: 'documenso v2.17.0' } } })
  t.equal(created.statusCode, 202, created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'], 180_000)
  t.comment(`163 migrations applied through the service in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  const report = done.report as { status: string, message: string, result: { migrations_applied: number, migrations: Array<{ name: string, status: string }> } }
  t.equal(report.status, 'success')
  t.equal(report.message, 'Successfully applied 163 migrations to dev')
  t.equal(report.result.migrations_applied, 163)
  t.same(report.result.migrations.map((m) => m.name), folders, 'applied in byte-wise folder order')
  t.ok(report.result.migrations.every((m) => m.status === 'applied'))

  const rows = await queryDatabase<{
    migration_name: string
    checksum: string
    finished_at: Date | null
    applied_steps_count: number
    logs: string | null
    rolled_back_at: Date | null
    started_at: Date
  }>(
    target,
    'SELECT migration_name, checksum, finished_at, applied_steps_count, logs, rolled_back_at, started_at FROM _prisma_migrations ORDER BY started_at, finished_at'
  )
  t.equal(rows.length, 163, '163 history rows')
  t.same(rows.map((r) => r.migration_name), folders, 'recorded in byte-wise folder order')
  let mismatched = 0
  let previousFinish = 0
  for (const row of rows) {
    const bytes = readFileSync(path.join(DOCUMENSO, row.migration_name, 'migration.sql'))
    if (row.checksum !== createHash('sha256').update(bytes).digest('hex')) mismatched++
    t.ok(row.finished_at instanceof Date, `${row.migration_name} finished`)
    t.equal(row.applied_steps_count, 1, `${row.migration_name} applied_steps_count`)
    t.equal(row.logs, null)
    t.equal(row.rolled_back_at, null)
    // Each one started after the one before finished: one at a time, in order.
    t.ok(row.started_at.getTime() >= previousFinish, `${row.migration_name} started after its predecessor finished`)
    previousFinish = row.finished_at?.getTime() ?? previousFinish
  }
  t.equal(mismatched, 0, 'every checksum is the sha256 of its file\'s bytes')

  // The schema is really there, extensions included.
  const extensions = await queryDatabase<{ extname: string }>(target, `SELECT extname FROM pg_extension WHERE extname IN ('pgcrypto', 'pg_trgm') ORDER BY extname`)
  t.same(extensions.map((r) => r.extname), ['pg_trgm', 'pgcrypto'], 'the migrations created their extensions')
  const tables = await queryDatabase<{ n: number }>(target, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('User', 'Envelope', 'Organisation', 'Recipient', 'Team')`)
  t.equal(tables[0]?.n, 5, 'documenso\'s core tables exist')

  // A second deploy finds nothing to do and changes nothing.
  const again = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  t.equal(again.statusCode, 202, again.body)
  const second = await h.waitFor(again.json().id, ['succeeded', 'failed'], 60_000)
  t.equal(second.status, 'succeeded', JSON.stringify(second.report))
  t.same(second.report, { status: 'success', operation: 'deploy-migrations', environment: 'dev', mode: 'dev', result: { migrations_applied: 0, message: 'No pending migrations' }, message: 'No pending migrations' })
  t.equal((await queryDatabase<{ n: number }>(target, 'SELECT count(*)::int AS n FROM _prisma_migrations'))[0]?.n, 163)

  // And the handler's read-only status (what `prisma migrate status` reports) says up to date.
  const status = await prismaHandler.status(databaseUrl(target), await prismaHandler.readSource(DOCUMENSO))
  t.equal(status.historyTableExists, true)
  t.equal(status.applied.length, 163)
  t.same(status.pending, [])
  t.same(status.failed, [])
  t.same(status.drifted, [])
})
