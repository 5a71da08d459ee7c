import path from 'node:path'
import t from 'tap'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { pgDumpText } from '../helpers/database-snapshots.js'
import { FIXTURES, startHarness, type Harness } from '../helpers/harness.js'

/**
 * A whole environment whose database URL carries Prisma's `?schema=`, through the service (API,
 * queue, worker, pipeline): health checks, environment status, backup, restore on failure and drift
 * all look at that schema, while `public` holds another application's Prisma history that none of
 * them may see or touch.
 */

const SCHEMA = 'Billing Ops'

async function deployAndWait (h: Harness, body: Record<string, unknown>): Promise<Awaited<ReturnType<Harness['waitFor']>>> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  return await h.waitFor(created.json().id, ['succeeded', 'failed'], 120_000)
}

t.test('a ?schema= environment: status, health checks, backup, restore on failure and drift in that schema; public untouched', async (t) => {
  const db = await createEmptyDatabase('md_tenant')
  t.teardown(() => dropDatabase(db))
  // public: another Prisma application, with its own history and data.
  const other = await prismaHandler.lock(databaseUrl(db), { waitMs: 10_000 })
  await other.apply(await prismaHandler.readSource(path.join(FIXTURES, 'drop-column')), { lockTimeoutMs: 0, statementTimeoutMs: 0 }).finally(other.release)
  await queryDatabase(db, `INSERT INTO public."User" ("email") VALUES ('other-app@example.com')`)
  const publicBefore = await pgDumpText(db, ['--schema=public'])

  const url = new URL(databaseUrl(db))
  url.searchParams.set('schema', SCHEMA)
  const password = decodeURIComponent(url.password)
  const h = await startHarness({
    env: { TENANT_DATABASE_URL: url.toString(), BROKEN_DATABASE_URL: `${databaseUrl(db)}?schema=say%22hi%22` },
    environments: {
      broken: { database_url_env: 'BROKEN_DATABASE_URL', working_directory: 'app' },
      staging: {
        database_url_env: 'TENANT_DATABASE_URL',
        working_directory: 'app',
        backup_before_migrate: true,
        backup: { provider: 'pg_dump', dir: t.testdir({}), keep: 5 },
        on_failure: 'restore_backup',
        health_check: {
          checks: ['connectivity', 'schema', 'migrations'],
          timeout: '10s',
          sql: [{ name: 'search_path', query: `SELECT current_setting('search_path') = '"${SCHEMA}"'` }]
        }
      }
    }
  })
  t.teardown(h.close)

  const broken = await h.request('GET', '/environments/broken/status', { as: 'viewer' })
  t.equal(broken.statusCode, 500)
  t.equal(broken.json().error.code, 'TARGET_URL_INVALID')
  t.match(broken.json().error.message, /schema "say\\"hi\\"" holds a double quote.*database_url_env/, 'a schema Prisma cannot use: what to fix')
  t.notMatch(broken.body, password, 'and no password')

  const fresh = (await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json()
  t.same([fresh.schema, fresh.history_table_exists, fresh.pending.length, fresh.applied.length, fresh.drifted.length], [SCHEMA, false, 5, 0, 0],
    'before the first deployment: no history in the schema (public\'s is not read)')

  const first = await deployAndWait(h, { environment: 'staging' })
  t.equal(first.status, 'succeeded', 'the first deployment succeeded') || t.comment(JSON.stringify(first.report))
  const stepDetail = (name: string): string => first.steps.find((s) => s.name === name)?.detail ?? ''
  for (const expected of [/sql:search_path: passed/, /schema: no history table yet/, /migrations: no drift/]) {
    t.match(stepDetail('health_check_before'), expected, 'the checks before the deployment ran in the schema')
  }
  for (const expected of [/sql:search_path: passed/, /schema: history table readable, 5 applied/, /migrations: no drift/]) {
    t.match(stepDetail('health_check_after'), expected, 'and after it')
  }
  const backupId = (first.report as { result: { backup_id: string } }).result.backup_id
  t.match(backupId, /^backup-/)

  const status = (await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json()
  t.same([status.schema, status.up_to_date, status.applied.length], [SCHEMA, true, 5], 'environment status reads the schema: up to date')
  const backups = (await h.request('GET', '/environments/staging/backups', { as: 'viewer' })).json().backups as Array<{ id: string, schema: string | null }>
  t.same(backups.map((b) => [b.id, b.schema]), [[backupId, SCHEMA]], 'the backup is of the schema')
  const tables = await queryDatabase<{ n: number }>(db, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [SCHEMA])
  t.equal(tables[0]?.n, 6, 'five migrations\' tables and _prisma_migrations in the schema')
  await queryDatabase(db, `INSERT INTO "${SCHEMA}"."User" ("email", "displayName") VALUES ('ann@example.com', 'ann')`)
  const schemaBefore = await pgDumpText(db, [`--schema="${SCHEMA}"`])

  // A non-transactional migration that leaves a table, an index and a failed history row behind.
  const app = await prismaHandler.readSource(path.join(FIXTURES, 'app'))
  const inline = app.map((m) => ({ name: m.name, sql: m.sql }))
  const failing = await deployAndWait(h, {
    environment: 'staging',
    migrations: [...inline, {
      name: '20250301000000_leftovers',
      sql: 'CREATE TABLE "Leftover" (id int);\nCREATE INDEX CONCURRENTLY "Leftover_id_idx" ON "Leftover" (id);\nINSERT INTO "Nope" VALUES (1);\n'
    }]
  })
  t.equal(failing.status, 'failed')
  const failure = failing.report as { error: string, result: { failed_migration: string, rollback_initiated: boolean } }
  t.equal(failure.error, 'Migration 20250301000000_leftovers failed')
  t.equal(failure.result.rollback_initiated, true)
  t.same(failing.steps.filter((s) => ['backup', 'deploy', 'rollback'].includes(s.name)).map((s) => [s.name, s.status]),
    [['backup', 'passed'], ['deploy', 'failed'], ['rollback', 'passed']])
  t.equal(await pgDumpText(db, [`--schema="${SCHEMA}"`]), schemaBefore,
    'the restore returned the schema to the backup: no Leftover, no failed row, the data kept')

  // Drift: an applied migration edited since. public's history (another app's names) must not count as drift.
  const edited = inline.map((m, index) => index === 0 ? { ...m, sql: `${m.sql}-- edited after it was applied\n` } : m)
  const drifted = await deployAndWait(h, { environment: 'staging', migrations: edited })
  t.equal(drifted.status, 'failed')
  const details = (drifted.report as { result: { details: Array<{ check: string, passed: boolean, message: string }> } }).result.details
  t.same(details.filter((d) => !d.passed).map((d) => [d.check, d.message]),
    [['migrations', 'drift: 20250110090000_init (file changed since it was applied)']], 'exactly the edited migration is drift')

  t.equal(await pgDumpText(db, ['--schema=public']), publicBefore, 'public, its history and its data untouched by all of it')
  const humanLogs = await Promise.all([first.id, failing.id, drifted.id].map(async (id) => (await h.request('GET', `/deployments/${id}/log`)).body))
  const logs = h.logLines.join('') + humanLogs.join('')
  t.notMatch(logs, password, 'no password in any log')
  t.notMatch(logs, /schema=|postgres(ql)?:\/\//, 'no URL in any log')
})
