import path from 'node:path'
import t from 'tap'
import { DOCUMENSO, documensoSkip } from '../helpers/corpus.js'
import { analyzeMigrationSql } from '../../src/analysis/analyze-sql.js'
import { ESCAPE_CATEGORY_NAMES } from '../../src/domain/escape-categories.js'
import { readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'
import { readSqlMigrations } from '../../src/handlers/sql/read-migrations.js'
import { FIXTURES } from '../helpers/harness.js'

/**
 * Statements that reach beyond the target database, found in the parse tree (never by matching
 * text): the statements themselves, calls anywhere in a statement, and the bodies of functions
 * and DO blocks (issue 17, finding 1c; SPEC §15).
 */

const found = async (sql: string): Promise<Array<[string, string]>> => (await analyzeMigrationSql(sql)).escapes.map((e) => [e.category, e.statement])

t.test('each kind of escape, with its category and a name for the statement', async (t) => {
  const cases: Array<[string, Array<[string, string]>]> = [
    ["COPY (SELECT 1) TO PROGRAM 'psql -d deployer_production -c \"CREATE TABLE x ()\"';", [['COPY PROGRAM', 'COPY … TO PROGRAM']]],
    ["COPY t FROM PROGRAM 'curl http://example'", [['COPY PROGRAM', 'COPY … FROM PROGRAM']]],
    ["COPY t FROM '/etc/passwd'", [['COPY FILE', 'COPY … FROM a server file']]],
    ["COPY (SELECT 1) TO '/tmp/out'", [['COPY FILE', 'COPY … TO a server file']]],
    ["ALTER SYSTEM SET archive_command = 'id'", [['ALTER SYSTEM', 'ALTER SYSTEM SET archive_command']]],
    ["CREATE ROLE attacker SUPERUSER LOGIN PASSWORD 'x'", [['ROLE SUPERUSER', 'CREATE ROLE "attacker" SUPERUSER']]],
    ['CREATE USER u WITH BYPASSRLS', [['ROLE BYPASSRLS', 'CREATE USER "u" BYPASSRLS']]],
    ['ALTER ROLE app WITH SUPERUSER BYPASSRLS', [['ROLE SUPERUSER', 'ALTER ROLE "app" SUPERUSER'], ['ROLE BYPASSRLS', 'ALTER ROLE "app" BYPASSRLS']]],
    ["SELECT lo_import('/etc/passwd')", [['LO_IMPORT', 'lo_import()']]],
    ["WITH x AS (SELECT pg_catalog.lo_export(1, '/tmp/x')) SELECT * FROM x", [['LO_EXPORT', 'lo_export()']]],
    ["SELECT pg_read_file('/etc/passwd')", [['SERVER FILES', 'pg_read_file()']]],
    ['CREATE EXTENSION IF NOT EXISTS file_fdw', [['SERVER FILES', 'CREATE EXTENSION file_fdw']]],
    ['CREATE EXTENSION dblink', [['DBLINK', 'CREATE EXTENSION dblink']]],
    ["SELECT dblink_connect('host=127.0.0.1 dbname=deployer_production')", [['DBLINK', 'dblink_connect()']]],
    ["SELECT * FROM dblink('dbname=x', 'SELECT 1') AS t(a int)", [['DBLINK', 'dblink()']]],
    ['CREATE EXTENSION postgres_fdw', [['POSTGRES_FDW', 'CREATE EXTENSION postgres_fdw']]],
    ["CREATE SERVER prod FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'deployer_production')",
      [['POSTGRES_FDW', 'CREATE SERVER "prod" FOREIGN DATA WRAPPER postgres_fdw']]],
    ['CREATE LANGUAGE plpython3u', [['UNTRUSTED LANGUAGE', 'CREATE EXTENSION plpython3u']]],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$ import os; return os.system("id") $$',
      [['UNTRUSTED LANGUAGE', 'CREATE FUNCTION "f" LANGUAGE plpython3u']]],
    ["CREATE PROCEDURE p() LANGUAGE plperlu AS $$ system('id') $$", [['UNTRUSTED LANGUAGE', 'CREATE PROCEDURE "p" LANGUAGE plperlu']]],
    ["CREATE FUNCTION c() RETURNS int LANGUAGE c AS '/tmp/evil.so', 'f'", [['UNTRUSTED LANGUAGE', 'CREATE FUNCTION "c" LANGUAGE c']]],
    ["DO LANGUAGE plpython3u $$ import os; os.system('id') $$", [['UNTRUSTED LANGUAGE', 'DO LANGUAGE plpython3u']]],
    ["LOAD '/tmp/evil.so'", [['LOAD', 'LOAD']]],
    // Inside bodies, where the parser shows them.
    ["CREATE FUNCTION g() RETURNS oid LANGUAGE sql AS $$ SELECT lo_import('/etc/passwd') $$", [['LO_IMPORT', 'lo_import() in function "g"']]],
    ["CREATE FUNCTION h() RETURNS oid LANGUAGE sql BEGIN ATOMIC SELECT lo_import('/etc/passwd'); END", [['LO_IMPORT', 'lo_import()']]],
    ["DO $$ BEGIN COPY (SELECT 1) TO PROGRAM 'id'; END $$", [['COPY PROGRAM', 'COPY … TO PROGRAM in a DO block']]],
    ["DO $$ DECLARE o oid; BEGIN o := lo_import('/etc/passwd'); END $$", [['LO_IMPORT', 'lo_import() in a DO block']]],
    ["DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id'''; END $$", [['COPY PROGRAM', 'COPY … TO PROGRAM in a string run by EXECUTE in a DO block']]],
    ["CREATE FUNCTION k() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM dblink_exec('dbname=x', 'DROP TABLE y'); END $$",
      [['DBLINK', 'dblink_exec() in function "k"']]],
    ["SELECT query_to_xml('SELECT lo_import(''/etc/passwd'')', true, true, '')", [['LO_IMPORT', 'lo_import() in SQL run by query_to_xml()']]]
  ]
  for (const [sql, expected] of cases) t.same(await found(sql), expected, sql.slice(0, 100))
  t.same([...new Set(cases.flatMap(([, e]) => e.map(([category]) => category)))].sort(), [...ESCAPE_CATEGORY_NAMES].sort(), 'every category is covered above')
})

t.test('the line of the statement, in a file of several', async (t) => {
  const analysis = await analyzeMigrationSql('CREATE TABLE a (id int);\n\n-- then\nCOPY a TO PROGRAM \'id\';\nSELECT 1;\n')
  t.same(analysis.escapes, [{ category: 'COPY PROGRAM', statement: 'COPY … TO PROGRAM', line: 3 }])
})

t.test('what is not an escape: streams, trusted languages, names and text that only look like one', async (t) => {
  const harmless = [
    'COPY t TO STDOUT', 'COPY t FROM STDIN', 'CREATE ROLE app NOSUPERUSER NOBYPASSRLS LOGIN', 'ALTER ROLE app SET search_path = app',
    'CREATE EXTENSION IF NOT EXISTS pgcrypto', 'CREATE EXTENSION pg_trgm', 'SELECT lo_import FROM uploads', "SELECT 'COPY t TO PROGRAM ''id'''",
    "-- COPY t TO PROGRAM 'id'\nSELECT 1", 'CREATE TABLE lo_export (id int)', 'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$',
    'CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := now(); RETURN NEW; END $$', "DO $$ BEGIN RAISE NOTICE 'dblink'; END $$",
    "CREATE FUNCTION s() RETURNS int LANGUAGE sql AS 'SELECT 1'", 'CREATE FUNCTION p() RETURNS int LANGUAGE plperl AS $$ return 1 $$'
  ]
  for (const sql of harmless) t.same(await found(sql), [], sql)
})

t.test('no false alarm on real projects: the fixtures and the documenso corpus', async (t) => {
  const sources = [
    ...(await Promise.all(['app', 'app-next', 'broken-third', 'concurrent-index', 'drop-column']
      .map(async (name) => await readPrismaMigrations(path.join(FIXTURES, name))))).flat(),
    ...await readSqlMigrations(path.join(FIXTURES, 'sql-app'))
  ]
  const skip = documensoSkip()
  if (skip === false) sources.push(...await readPrismaMigrations(DOCUMENSO))
  else t.comment(`the documenso corpus is left out: ${skip}`)
  let escapes = 0
  for (const migration of sources) escapes += (await analyzeMigrationSql(migration.sql)).escapes.length
  t.ok(sources.length > 10, `${sources.length} migrations read`)
  t.equal(escapes, 0, 'none flagged')
})
