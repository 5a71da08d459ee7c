import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadModule, parseSync } from 'libpg-query'
import t from 'tap'
import { readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'
import { analyzeMigrationSql, type SqlAnalysis } from '../../src/analysis/analyze-sql.js'
import { splitStatements } from '../../src/analysis/split-statements.js'
import { documensoSkip, DOCUMENSO } from '../helpers/corpus.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FIXTURES = path.join(ROOT, 'migrations-fixtures')

/**
 * What is wrong with the cut, if anything: the statements' texts must be the file's own, found
 * in order, with only whitespace and stray semicolons left between them; each must re-parse
 * alone as one statement of its kind; and `line` must be where it begins.
 */
function cutProblems (sql: string, analysis: SqlAnalysis, label: string): string[] {
  const problems: string[] = []
  let rest = ''
  let from = 0
  for (const statement of analysis.statements) {
    const at = sql.indexOf(statement.sql, from)
    if (at === -1) return [`${label}: statement not found in order: ${statement.sql.slice(0, 80)}`]
    rest += sql.slice(from, at)
    from = at + statement.sql.length
    const alone = parseSync(statement.sql).stmts ?? []
    if (alone.length !== 1 || Object.keys(alone[0]?.stmt ?? {})[0] !== statement.kind) problems.push(`${label}: ${statement.sql.slice(0, 80)} is not one ${statement.kind}`)
    if (sql.slice(0, at).split('\n').length !== statement.line) problems.push(`${label}: wrong line ${statement.line} for ${statement.sql.slice(0, 40)}`)
  }
  rest += sql.slice(from)
  if (!/^[\s;]*$/.test(rest)) problems.push(`${label}: text outside the statements: ${JSON.stringify(rest.trim().slice(0, 80))}`)
  return problems
}

t.before(async () => { await loadModule() })

t.test('statements keep their exact text, with comments attached sensibly', async (t) => {
  const sql = [
    '-- CreateTable',
    'CREATE TABLE "Ünïcode" ("name" TEXT DEFAULT \'😀 ; not a split\'); -- same line: stays with its statement',
    '/* a block comment on its own line',
    '   spanning two */',
    '-- CreateIndex',
    'CREATE INDEX "Ünïcode_name_idx" ON "Ünïcode"("name");;',
    'SELECT $$ a ; b $$',
    '-- trailing comment of the file'
  ].join('\n') + '\n'
  const analysis = await analyzeMigrationSql(sql)
  t.same(analysis.statements, [
    { sql: '-- CreateTable\nCREATE TABLE "Ünïcode" ("name" TEXT DEFAULT \'😀 ; not a split\'); -- same line: stays with its statement', kind: 'CreateStmt', line: 1 },
    { sql: '/* a block comment on its own line\n   spanning two */\n-- CreateIndex\nCREATE INDEX "Ünïcode_name_idx" ON "Ünïcode"("name");', kind: 'IndexStmt', line: 3 },
    { sql: 'SELECT $$ a ; b $$\n-- trailing comment of the file', kind: 'SelectStmt', line: 7 }
  ], 'multi-byte text before a statement does not shift the cut (offsets are UTF-8 bytes)')
  t.same(cutProblems(sql, analysis, 'mixed file'), [])
  t.equal(analysis.transactional, true)
  t.equal(analysis.managesOwnTransaction, false)
  t.equal(analysis.parseError, undefined)
})

t.test('a parser whose statement offsets include the comments before them gets the same cut (the whole-file scan)', async (t) => {
  const sql = '-- CreateTable\nCREATE TABLE "a" (id int); -- note\n/* b */ -- CreateIndex\nCREATE INDEX "a_id_idx" ON "a"("id");\nSELECT 1 -- no semicolon\n'
  const parsed = parseSync(sql).stmts ?? []
  const expected = splitStatements(sql, parsed).map(({ sql, line }) => ({ sql, line }))
  t.same(expected.map((s) => s.sql), ['-- CreateTable\nCREATE TABLE "a" (id int); -- note', '/* b */ -- CreateIndex\nCREATE INDEX "a_id_idx" ON "a"("id");', 'SELECT 1 -- no semicolon'])
  // Older libpg_query releases started each statement right after the previous `;`.
  const firstEnd = sql.indexOf(';') + 1
  const secondEnd = sql.indexOf(';', firstEnd) + 1
  const oldStyle = parsed.map((raw, i) => {
    if (i === 0) return raw
    const location = i === 1 ? firstEnd : secondEnd
    const end = (raw.stmt_location ?? 0) + (raw.stmt_len ?? 0)
    return { ...raw, stmt_location: location, stmt_len: raw.stmt_len === undefined || raw.stmt_len === 0 ? raw.stmt_len : end - location }
  })
  t.same(splitStatements(sql, oldStyle).map(({ sql, line }) => ({ sql, line })), expected)
})

t.test('CRLF line endings are kept byte for byte', async (t) => {
  const sql = '-- CreateTable\r\nCREATE TABLE "a" (id int); -- note\r\n\r\n-- CreateIndex\r\nCREATE INDEX "a_id_idx" ON "a"("id");\r\n'
  const analysis = await analyzeMigrationSql(sql)
  t.same(analysis.statements.map((s) => s.sql), ['-- CreateTable\r\nCREATE TABLE "a" (id int); -- note', '-- CreateIndex\r\nCREATE INDEX "a_id_idx" ON "a"("id");'])
  t.same(analysis.statements.map((s) => s.line), [1, 4])
})

t.test('files without statements', async (t) => {
  for (const sql of ['', '   \n', '-- This is an empty migration.', ';;']) {
    const analysis = await analyzeMigrationSql(sql)
    t.same(analysis, { statements: [], transactional: true, nonTransactionalReasons: [], managesOwnTransaction: false, escapes: [] }, JSON.stringify(sql))
  }
})

t.test('a syntax error comes back as parseError, not an exception', async (t) => {
  const analysis = await analyzeMigrationSql('CREATE TABLE "a" (id int);\nSELEC 1;\n')
  t.same(analysis.parseError, { message: 'syntax error at or near "SELEC"', cursorPosition: 27, line: 2 })
  t.same(analysis.statements, [])

  const astral = 'SELECT \'😀\' FRM x'
  const error = (await analyzeMigrationSql(astral)).parseError
  t.equal(error?.cursorPosition, astral.indexOf('x'), 'the position indexes the JavaScript string even after a character outside the BMP')
  t.same(await analyzeMigrationSql('CREATE TABLE'), { statements: [], transactional: true, nonTransactionalReasons: [], managesOwnTransaction: false, escapes: [], parseError: { message: 'syntax error at end of input', cursorPosition: 12, line: 1 } })
  t.match((await analyzeMigrationSql('SELECT 1; /* never closed')).parseError, { message: /unterminated \/\* comment/ })
  t.same((await analyzeMigrationSql('SELECT 1;\nSELECT 2;\0 DROP TABLE x;')).parseError, { message: 'the file contains a NUL byte, which PostgreSQL does not accept', cursorPosition: 19, line: 2 }, 'a NUL byte would otherwise hide the rest of the file from the parser')
})

t.test('files that manage their own transaction', async (t) => {
  for (const sql of ['BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;', 'START TRANSACTION; SELECT 1; ROLLBACK;', 'SAVEPOINT s; SELECT 1; RELEASE SAVEPOINT s;', 'COMMIT;']) {
    const analysis = await analyzeMigrationSql(sql)
    t.equal(analysis.managesOwnTransaction, true, sql)
    t.equal(analysis.transactional, true, `${sql}: nothing in it is refused inside a transaction block`)
  }
  t.equal((await analyzeMigrationSql('DO $$ BEGIN PERFORM 1; END $$;')).managesOwnTransaction, false, 'BEGIN inside PL/pgSQL is not a transaction statement')
})

t.test('the reason names the statement', async (t) => {
  const cases: Array<[string, string]> = [
    ['CREATE INDEX CONCURRENTLY "User_name_idx" ON "User"("name");', 'CREATE INDEX CONCURRENTLY "User_name_idx" cannot run inside a transaction block'],
    ['CREATE UNIQUE INDEX CONCURRENTLY ON app."User"(email)', 'CREATE UNIQUE INDEX CONCURRENTLY on "app"."User" cannot run inside a transaction block'],
    ['DROP INDEX CONCURRENTLY IF EXISTS s.a', 'DROP INDEX CONCURRENTLY "s"."a" cannot run inside a transaction block'],
    ['REINDEX (VERBOSE, CONCURRENTLY) TABLE t', 'REINDEX TABLE CONCURRENTLY "t" cannot run inside a transaction block'],
    ['REINDEX SCHEMA app', 'REINDEX SCHEMA "app" cannot run inside a transaction block'],
    ['VACUUM (ANALYZE) "User", "Team"', 'VACUUM "User", "Team" cannot run inside a transaction block'],
    ['ALTER SYSTEM SET work_mem = \'64MB\'', 'ALTER SYSTEM SET work_mem cannot run inside a transaction block'],
    ['ALTER TABLE p DETACH PARTITION p_2024 CONCURRENTLY', 'ALTER TABLE "p" DETACH PARTITION "p_2024" CONCURRENTLY cannot run inside a transaction block'],
    ['CLUSTER', 'CLUSTER without a table name cannot run inside a transaction block'],
    ['DROP SUBSCRIPTION s', 'DROP SUBSCRIPTION "s" (when the subscription has a replication slot) cannot run inside a transaction block']
  ]
  for (const [sql, reason] of cases) t.same((await analyzeMigrationSql(sql)).nonTransactionalReasons, [reason], sql)

  const both = await analyzeMigrationSql('CREATE INDEX CONCURRENTLY a ON t(x);\nCREATE TABLE u (id int);\nVACUUM t;')
  t.equal(both.transactional, false)
  t.equal(both.nonTransactionalReasons.length, 2, 'one reason per refused statement')
})

t.test('decisions that depend on options (no server needed: PostgreSQL 17/18 syntax included)', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['REINDEX (CONCURRENTLY false) TABLE t', true],
    ['REINDEX (CONCURRENTLY 0) TABLE t', true],
    ['REINDEX (CONCURRENTLY on) INDEX i', false],
    ['CREATE SUBSCRIPTION s CONNECTION \'x\' PUBLICATION p WITH (connect = false)', true],
    ['CREATE SUBSCRIPTION s CONNECTION \'x\' PUBLICATION p WITH (create_slot = off)', true],
    ['CREATE SUBSCRIPTION s CONNECTION \'x\' PUBLICATION p', false],
    ['ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (refresh = false)', true],
    ['ALTER SUBSCRIPTION s DROP PUBLICATION p', false],
    ['ALTER SUBSCRIPTION s SET (failover = true)', false],
    ['ALTER SUBSCRIPTION s SET (two_phase = false)', false],
    ['ALTER SUBSCRIPTION s SET (two_phase = true)', true],
    ['ALTER DATABASE d SET work_mem = \'1MB\'', true],
    ['ALTER DATABASE d SET TABLESPACE ts', false],
    ['ANALYZE t', true],
    ['DISCARD TEMP', true],
    ['ALTER TABLE p DETACH PARTITION p1 FINALIZE', true]
  ]
  for (const [sql, transactional] of cases) t.equal((await analyzeMigrationSql(sql)).transactional, transactional, sql)
})

t.test('the fixtures: concurrent-index has one non-transactional file, app has none', async (t) => {
  const concurrent = await readPrismaMigrations(path.join(FIXTURES, 'concurrent-index/prisma/migrations'))
  t.same(concurrent.map((m) => m.name), ['20250401090000_init', '20250402090000_add_user_name_index'])
  const [init, index] = await Promise.all(concurrent.map(async (m) => await analyzeMigrationSql(m.sql)))
  t.equal(init?.transactional, true)
  t.same(init?.statements.map((s) => s.kind), ['CreateStmt', 'IndexStmt'])
  t.same(index, {
    statements: [{ sql: 'CREATE INDEX CONCURRENTLY "User_name_idx" ON "User"("name");', kind: 'IndexStmt', line: 1 }],
    transactional: false,
    nonTransactionalReasons: ['CREATE INDEX CONCURRENTLY "User_name_idx" cannot run inside a transaction block'],
    managesOwnTransaction: false,
    escapes: []
  })

  const app = await readPrismaMigrations(path.join(FIXTURES, 'app/prisma/migrations'))
  t.equal(app.length, 5)
  for (const migration of app) {
    const analysis = await analyzeMigrationSql(migration.sql)
    t.equal(analysis.transactional, true, `${migration.name} is transactional`)
    t.equal(analysis.managesOwnTransaction, false)
    t.same(cutProblems(migration.sql, analysis, migration.name), [], `${migration.name} is cut cleanly`)
  }
  const enumMigration = await analyzeMigrationSql(app[3]?.sql ?? '')
  t.ok(enumMigration.statements.some((s) => s.kind === 'AlterEnumStmt' && s.sql.includes('ADD VALUE \'VIEWER\'')), 'ALTER TYPE … ADD VALUE is there, and not flagged')
})

t.test('documenso: all 163 files parse; none is non-transactional', { skip: documensoSkip() }, async (t) => {
  const migrations = await readPrismaMigrations(DOCUMENSO)
  t.equal(migrations.length, 163)
  const started = performance.now()
  const analyses: SqlAnalysis[] = []
  for (const migration of migrations) analyses.push(await analyzeMigrationSql(migration.sql))
  const elapsed = performance.now() - started
  const again = performance.now()
  for (const migration of migrations) await analyzeMigrationSql(migration.sql)
  t.comment(`analysed 163 documenso files (141 KB) in ${elapsed.toFixed(0)} ms (first pass), ${(performance.now() - again).toFixed(0)} ms (second pass)`)

  const failed = migrations.filter((_, i) => analyses[i]?.parseError !== undefined).map((m) => m.name)
  t.same(failed, [], 'no parse error')
  const nonTransactional = migrations.filter((_, i) => analyses[i]?.transactional === false).map((m) => m.name)
  t.comment(`non-transactional files: ${nonTransactional.length}`)
  t.same(nonTransactional, [])
  t.same(migrations.filter((_, i) => analyses[i]?.managesOwnTransaction === true).map((m) => m.name), [], 'none has its own BEGIN/COMMIT')
  t.equal(analyses.reduce((n, a) => n + a.statements.length, 0), 766, 'statements in all')
  t.equal(analyses.filter((a) => a.statements.some((s) => s.kind === 'AlterEnumStmt' && /ADD VALUE/i.test(s.sql))).length, 20, 'the corpus README counts 20 files with ALTER TYPE … ADD VALUE')
  t.same(migrations.flatMap((m, i) => cutProblems(m.sql, analyses[i] as SqlAnalysis, m.name)), [], 'every file is cut into its statements cleanly')
})
