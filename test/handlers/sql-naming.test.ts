import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { compareVersions, orderByVersion, parseSqlMigrationName } from '../../src/handlers/sql/naming.js'
import { orderSqlMigrations, readSqlMigrations } from '../../src/handlers/sql/read-migrations.js'
import { sha256Hex } from '../../src/lib/checksum.js'

const file = (name: string): { name: string, sql: string, checksum: string } => ({ name, sql: 'SELECT 1;', checksum: sha256Hex('SELECT 1;') })

t.test('versions compare part by part, numerically, like Flyway', async (t) => {
  const ordered = orderByVersion(['V1_10__j', 'V2__k', 'V1_9__i', 'V1__a', 'V1.1__b', 'V1_2_1__c', 'V10__z', 'V1_2__bb'].map(file), 'test')
  t.same(ordered.map((m) => m.name), ['V1__a', 'V1.1__b', 'V1_2__bb', 'V1_2_1__c', 'V1_9__i', 'V1_10__j', 'V2__k', 'V10__z'])
  t.same(orderByVersion(['20250110090000_b', '9_a', '0010_c'].map(file), 'test').map((m) => m.name), ['9_a', '0010_c', '20250110090000_b'], 'plain numbers: 9 < 10 < a timestamp, leading zeros ignored')
  t.same(parseSqlMigrationName('V001_010__x'), { versionParts: ['1', '10'], version: '1.10' })
  t.same(parseSqlMigrationName('V2.0.0__x'), { versionParts: ['2'], version: '2' }, 'trailing zero parts are dropped, as Flyway does')
  t.ok(compareVersions(['99999999999999999999'], ['100000000000000000000']) < 0, 'numbers past 2^53 compare exactly')
  t.equal(compareVersions(['1', '0'], ['1']), 0)
})

t.test('names the handler does not apply are refused, not skipped', async (t) => {
  for (const [name, reason] of [
    ['R__refresh_views', /repeatable migrations \(R__\) are not supported/],
    ['U2__undo', /undo \(U\) and baseline \(B\)/],
    ['V1_init', /expected V<version>__<name>\.sql/],
    ['v1__lowercase', /expected V<version>__<name>\.sql/],
    ['init', /expected/]
  ] as const) {
    t.throws(() => orderByVersion([file('V1__ok'), file(name)], 'migrations'), { code: 'BAD_MIGRATION_NAME', statusCode: 400, message: reason }, name)
  }
  t.throws(() => orderByVersion([file('V1__a'), file('V1.0__b')], 'migrations'), { code: 'DUPLICATE_MIGRATION_VERSION', message: /V1__a and V1\.0__b \(version 1\)/ })
  t.throws(() => orderByVersion([file('001_a'), file('1_b')], 'migrations'), { code: 'DUPLICATE_MIGRATION_VERSION' })
})

t.test('readSqlMigrations finds the folder, orders by version and checksums the raw bytes', async (t) => {
  const dir = t.testdir({})
  const folder = path.join(dir, 'project', 'db', 'migration')
  mkdirSync(folder, { recursive: true })
  writeFileSync(path.join(folder, 'V1_10__second.sql'), 'SELECT 2;\r\n')
  writeFileSync(path.join(folder, 'V1_9__first.sql'), 'SELECT 1;\n')
  writeFileSync(path.join(folder, 'README.md'), 'not a migration')
  const migrations = await readSqlMigrations(path.join(dir, 'project'))
  t.same(migrations.map((m) => m.name), ['V1_9__first', 'V1_10__second'], 'Flyway\'s db/migration folder, names without .sql')
  t.equal(migrations[1]?.checksum, sha256Hex(Buffer.from('SELECT 2;\r\n')), 'CRLF kept in the checksum')
  writeFileSync(path.join(folder, 'R__views.sql'), 'SELECT 3;')
  await t.rejects(readSqlMigrations(path.join(dir, 'project')), { code: 'BAD_MIGRATION_NAME', message: /db\/migration has files the sql handler does not apply: R__views/ })
  await t.rejects(readSqlMigrations(path.join(dir, 'nothing-here')), { code: 'NO_MIGRATIONS_FOUND', statusCode: 400 })
})

t.test('inline uploads are ordered by version, with or without .sql', async (t) => {
  t.same(orderSqlMigrations([file('V1_10__b.sql'), file('V1_9__a')]).map((m) => m.name), ['V1_9__a', 'V1_10__b'])
})
