import pg from 'pg'
import t, { type Test } from 'tap'
import { analyzeMigrationSql } from '../../src/analysis/analyze-sql.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, uniqueName } from '../helpers/databases.js'

/**
 * The classification checked against PostgreSQL itself: every statement runs inside
 * BEGIN … ROLLBACK on a scratch database, and PostgreSQL's answer (refused with SQLSTATE 25001
 * "cannot run inside a transaction block", or accepted) must match analyzeMigrationSql's.
 * Cases that PostgreSQL refuses for another reason would prove nothing, so an accepted case
 * must run without any error and a refused one must fail with exactly 25001.
 */

const ACTIVE_SQL_TRANSACTION = '25001'

const SETUP = `
  CREATE TABLE t (id int PRIMARY KEY, a int);
  INSERT INTO t SELECT g, g FROM generate_series(1, 10) g;
  CREATE INDEX t_a_idx ON t (a);
  CLUSTER t USING t_a_idx;
  CREATE TABLE p (id int) PARTITION BY RANGE (id);
  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
  CREATE INDEX p_id_idx ON p (id);
  CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
  CREATE UNIQUE INDEX mv_id_idx ON mv (id);
  CREATE TYPE mood AS ENUM ('ok');
  CREATE SCHEMA s;
  CREATE TABLE s.u (id int);
  -- connect = false: no connection and no slot, but slot_name is set, as DROP SUBSCRIPTION checks.
  CREATE SUBSCRIPTION md_sub CONNECTION 'host=/nonexistent dbname=none' PUBLICATION pub WITH (connect = false);
`

/** [sql, PostgreSQL refuses it in a transaction block]. `{db}` is the scratch database. */
const CASES: Array<[string, boolean]> = [
  ['CREATE INDEX CONCURRENTLY t_a2_idx ON t (a)', true],
  ['CREATE UNIQUE INDEX CONCURRENTLY ON t (id)', true],
  ['CREATE INDEX t_a3_idx ON t (a)', false],
  ['DROP INDEX CONCURRENTLY t_a_idx', true],
  ['DROP INDEX t_a_idx', false],
  ['REINDEX INDEX CONCURRENTLY t_a_idx', true],
  ['REINDEX TABLE CONCURRENTLY t', true],
  ['REINDEX (CONCURRENTLY) TABLE t', true],
  ['REINDEX (CONCURRENTLY false) TABLE t', false],
  ['REINDEX INDEX t_a_idx', false],
  ['REINDEX TABLE t', false],
  ['REINDEX SCHEMA s', true],
  ['REINDEX DATABASE "{db}"', true],
  ['REINDEX SYSTEM "{db}"', true],
  ['VACUUM', true],
  ['VACUUM t', true],
  ['VACUUM ANALYZE t', true],
  ['VACUUM (FULL) t', true],
  ['ANALYZE t', false],
  ['ANALYZE', false],
  // Would fail with 42704 (unrecognized parameter) if it got past the transaction check: no side effect.
  ['ALTER SYSTEM SET md_no_such_setting = 1', true],
  ['CREATE DATABASE "{db}_never"', true],
  ['DROP DATABASE IF EXISTS "{db}_never"', true],
  ['CREATE TABLESPACE md_never LOCATION \'/nonexistent/md_never\'', true],
  ['DROP TABLESPACE IF EXISTS md_never', true],
  ['ALTER DATABASE "{db}" SET TABLESPACE pg_default', true],
  ['ALTER DATABASE "{db}" SET work_mem = \'8MB\'', false],
  ['CLUSTER', true],
  ['CLUSTER t', false],
  ['CLUSTER t USING t_a_idx', false],
  ['ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY', true],
  ['ALTER TABLE p DETACH PARTITION p1', false],
  ['REFRESH MATERIALIZED VIEW CONCURRENTLY mv', false],
  ['REFRESH MATERIALIZED VIEW mv', false],
  ['ALTER TYPE mood ADD VALUE \'happy\'', false],
  ['ALTER TYPE mood ADD VALUE IF NOT EXISTS \'ok\'', false],
  ['CREATE SUBSCRIPTION md_sub2 CONNECTION \'host=/nonexistent dbname=none\' PUBLICATION pub', true],
  ['CREATE SUBSCRIPTION md_sub2 CONNECTION \'host=/nonexistent dbname=none\' PUBLICATION pub WITH (connect = false)', false],
  ['DROP SUBSCRIPTION md_sub', true],
  ['ALTER SUBSCRIPTION md_sub SET PUBLICATION pub2 WITH (refresh = false)', false],
  ['DISCARD ALL', true],
  ['DISCARD PLANS', false],
  ['DISCARD TEMP', false],
  ['COMMIT PREPARED \'md_no_such_gid\'', true],
  ['ROLLBACK PREPARED \'md_no_such_gid\'', true],
  ['CHECKPOINT', false],
  ['LOCK TABLE t IN ACCESS EXCLUSIVE MODE', false],
  ['ALTER TABLE t ADD COLUMN b text', false],
  ['CREATE EXTENSION IF NOT EXISTS pgcrypto', false]
]

/** Refused by PostgreSQL, and beyond a parser: only the catalog knows `p` is partitioned. */
const CATALOG_DEPENDENT = ['CLUSTER p USING p_id_idx', 'REINDEX TABLE p', 'REINDEX INDEX p_id_idx']

/** Refused only while the subscription is enabled (a disabled one fails with 55000 first). */
const ENABLED_SUBSCRIPTION_CASES: Array<[string, boolean]> = [
  ['ALTER SUBSCRIPTION md_sub REFRESH PUBLICATION', true],
  ['ALTER SUBSCRIPTION md_sub SET PUBLICATION pub2', true],
  ['ALTER SUBSCRIPTION md_sub ADD PUBLICATION pub2', true],
  ['ALTER SUBSCRIPTION md_sub ADD PUBLICATION pub2 WITH (refresh = false)', false]
]

async function sqlstateInTransaction (client: pg.Client, sql: string): Promise<string | undefined> {
  await client.query('BEGIN')
  try {
    await client.query(sql)
    return undefined
  } catch (error) {
    // The message only when unexpected, so that a failing case says what PostgreSQL answered.
    const { code, message } = error as { code?: string, message?: string }
    return code === ACTIVE_SQL_TRANSACTION ? code : `${code ?? '?'}: ${message ?? String(error)}`
  } finally {
    await client.query('ROLLBACK')
  }
}

const db = await createEmptyDatabase('md_txblock')
const client = new pg.Client({ connectionString: databaseUrl(db) })
await client.connect()
t.teardown(async () => {
  // A database that holds a subscription cannot be dropped, so the subscription goes first,
  // and without a slot (there is none to drop on the nonexistent publisher).
  await client.query('ALTER SUBSCRIPTION md_sub DISABLE').catch(() => {})
  await client.query('ALTER SUBSCRIPTION md_sub SET (slot_name = NONE)').catch(() => {})
  await client.query('DROP SUBSCRIPTION IF EXISTS md_sub').catch(() => {})
  await client.end()
  await dropDatabase(db)
  await dropDatabase(`${db}_never`) // in case CREATE DATABASE was ever accepted
})
await client.query(SETUP)
t.comment((await client.query<{ version: string }>('SELECT version()')).rows[0]?.version ?? '')

async function check (t: Test, sql: string, refused: boolean): Promise<void> {
  const analysis = await analyzeMigrationSql(sql)
  t.equal(analysis.parseError, undefined, 'parses')
  t.equal(analysis.transactional, !refused, refused ? `flagged: ${analysis.nonTransactionalReasons.join('; ')}` : 'not flagged')
  t.equal(await sqlstateInTransaction(client, sql), refused ? ACTIVE_SQL_TRANSACTION : undefined, refused ? 'PostgreSQL refuses it in a transaction block (25001)' : 'PostgreSQL runs it in a transaction block')
}

t.test('the classification matches PostgreSQL, statement by statement', async (t) => {
  for (const [template, refused] of CASES) {
    const sql = template.replaceAll('{db}', db)
    await t.test(sql, async (t) => { await check(t, sql, refused) })
  }
})

t.test('subscription changes that refresh: checked on an enabled subscription', async (t) => {
  // The apply worker then tries, and fails, to reach the nonexistent publisher: harmless.
  await client.query('ALTER SUBSCRIPTION md_sub ENABLE')
  t.teardown(async () => { await client.query('ALTER SUBSCRIPTION md_sub DISABLE') })
  for (const [sql, refused] of ENABLED_SUBSCRIPTION_CASES) {
    await t.test(sql, async (t) => { await check(t, sql, refused) })
  }
})

t.test('known gap: CLUSTER / REINDEX of a partitioned table is refused, but only the catalog can tell', async (t) => {
  for (const sql of CATALOG_DEPENDENT) {
    t.equal((await analyzeMigrationSql(sql)).transactional, true, `${sql}: not flagged by the parser`)
    t.equal(await sqlstateInTransaction(client, sql), ACTIVE_SQL_TRANSACTION, `${sql}: refused by PostgreSQL`)
  }
})

t.test('a multi-statement query is an implicit transaction block: non-transactional files run statement by statement', async (t) => {
  const sql = 'CREATE TABLE m (a int);\nCREATE INDEX CONCURRENTLY m_a_idx ON m (a);\n'
  const analysis = await analyzeMigrationSql(sql)
  t.equal(analysis.transactional, false)
  const name = uniqueName('m')
  const renamed = analysis.statements.map((s) => s.sql.replaceAll(' m ', ` ${name} `).replace('m_a_idx', `${name}_a_idx`))
  await t.rejects(client.query(renamed.join('\n')), { code: ACTIVE_SQL_TRANSACTION }, 'the whole file as one query is refused')
  for (const statement of renamed) await client.query(statement)
  const { rows } = await client.query('SELECT indisvalid FROM pg_index WHERE indexrelid = $1::regclass', [`${name}_a_idx`])
  t.same(rows, [{ indisvalid: true }], 'one query per statement builds the index')
})
