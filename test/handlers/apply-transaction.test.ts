import t from 'tap'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { createSqlHandler } from '../../src/handlers/sql/index.js'
import { MigrationFailedError } from '../../src/errors/index.js'
import { sha256Hex } from '../../src/lib/checksum.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'

// Each migration goes to PostgreSQL as one query: transaction, bounds, history row, script,
// row update, commit. These are the scripts and names where gluing them together could go wrong.

const migration = (name: string, sql: string): { name: string, sql: string, checksum: string } => ({ name, sql, checksum: sha256Hex(sql) })

t.test('odd names and scripts apply with the exact history row', async (t) => {
  const db = await createEmptyDatabase('md_apply_tx')
  t.teardown(async () => { await dropDatabase(db) })
  const migrations = [
    migration("20250101000000_it's_a_quote\\and_a_backslash", 'CREATE TABLE a (id int);'),
    migration('20250101000001_no_semicolon_then_comment', 'CREATE TABLE b (id int)\n-- a trailing comment without a newline'),
    migration('20250101000002_only_comments', '-- nothing to do here\n/* really nothing */'),
    migration('20250101000003_sets_its_own_local', "SET LOCAL search_path = public; CREATE TABLE c (note text DEFAULT 'x;y');")
  ]
  const target = await prismaHandler.lock(databaseUrl(db), { waitMs: 5000 })
  try {
    const applied = await target.apply(migrations, { lockTimeoutMs: 1234, statementTimeoutMs: 5678 })
    t.same(applied.map((m) => m.name), migrations.map((m) => m.name))
  } finally {
    await target.release()
  }
  const rows = await queryDatabase<{ migration_name: string, checksum: string, applied_steps_count: number, finished: boolean }>(db,
    'SELECT migration_name, checksum, applied_steps_count, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY started_at, migration_name')
  t.same(rows, migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, applied_steps_count: 1, finished: true })))
  const tables = await queryDatabase<{ table_name: string }>(db, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('a', 'b', 'c') ORDER BY 1`)
  t.same(tables.map((r) => r.table_name), ['a', 'b', 'c'])
})

t.test('the bounds apply to the script, and a failure leaves neither changes nor row', async (t) => {
  const db = await createEmptyDatabase('md_apply_tx')
  t.teardown(async () => { await dropDatabase(db) })
  const target = await prismaHandler.lock(databaseUrl(db), { waitMs: 5000 })
  try {
    await target.apply([migration('20250101000000_bounds', `CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout;`)], { lockTimeoutMs: 1234, statementTimeoutMs: 5678 })
    const failing = [migration('20250101000001_fails_midway', 'CREATE TABLE half (id int);\nSELECT 1 / 0;\nCREATE TABLE never (id int);')]
    const error = await target.apply(failing, { lockTimeoutMs: 0, statementTimeoutMs: 0 }).catch((e: unknown) => e)
    t.ok(error instanceof MigrationFailedError, String(error))
    t.match((error as MigrationFailedError).databaseMessage, /division by zero/)
    t.equal((error as MigrationFailedError).sqlState, '22012')
    const slow = [migration('20250101000002_too_slow', 'SELECT pg_sleep(2);')]
    const timedOut = await target.apply(slow, { lockTimeoutMs: 0, statementTimeoutMs: 100 }).catch((e: unknown) => e)
    t.equal((timedOut as MigrationFailedError).sqlState, '57014', 'statement_timeout cancels the script')
    t.same(await target.status([]).then((s) => s.applied.map((a) => a.name)), ['20250101000000_bounds'], 'the connection still works after failures')
  } finally {
    await target.release()
  }
  t.same(await queryDatabase(db, 'SELECT lock_timeout, statement_timeout FROM seen'), [{ lock_timeout: '1234ms', statement_timeout: '5678ms' }])
  t.same(await queryDatabase(db, 'SELECT migration_name FROM _prisma_migrations ORDER BY started_at'), [{ migration_name: '20250101000000_bounds' }], 'no row for the failed ones')
  t.same(await queryDatabase(db, `SELECT table_name FROM information_schema.tables WHERE table_name IN ('half', 'never')`), [], 'no changes of the failed one')
})

t.test('the sql handler: its row finished with a duration, a failure leaves nothing, a retry applies', async (t) => {
  const db = await createEmptyDatabase('md_apply_tx')
  t.teardown(async () => { await dropDatabase(db) })
  const handler = createSqlHandler()
  const first = [migration('V1__create', "CREATE TABLE a (note text DEFAULT 'it''s; -- not a comment');\n-- trailing comment")]
  const broken = migration('V2__broken', 'CREATE TABLE b (id int);\nSELECT 1 / 0;')
  const fixed = migration('V2__broken', 'CREATE TABLE b (id int);')
  const target = await handler.lock(databaseUrl(db), { waitMs: 5000 })
  try {
    await target.apply(first, { lockTimeoutMs: 1000, statementTimeoutMs: 1000 })
    const error = await target.apply([broken], { lockTimeoutMs: 1000, statementTimeoutMs: 1000 }).catch((e: unknown) => e)
    t.match((error as MigrationFailedError).databaseMessage, /division by zero/)
    await target.apply([fixed], { lockTimeoutMs: 1000, statementTimeoutMs: 1000 })
  } finally {
    await target.release()
  }
  const rows = await queryDatabase<{ name: string, version: string, checksum: string, finished: boolean, timed: boolean }>(db,
    'SELECT name, version, checksum, finished_at IS NOT NULL AS finished, duration_ms IS NOT NULL AS timed FROM migration_deployer_history ORDER BY id')
  t.same(rows, [
    { name: 'V1__create', version: '1', checksum: first[0]?.checksum, finished: true, timed: true },
    { name: 'V2__broken', version: '2', checksum: fixed.checksum, finished: true, timed: true }
  ], 'one finished row per applied migration; none for the failed attempt')
  t.same(await queryDatabase(db, `SELECT column_default FROM information_schema.columns WHERE table_name = 'a' AND column_name = 'note'`), [{ column_default: "'it''s; -- not a comment'::text" }])
})
