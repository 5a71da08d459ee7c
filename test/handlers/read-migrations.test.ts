import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { BadRequestError } from '../../src/errors/index.js'
import { checkPrismaMigrations, compareNamesBytewise, findMigrationsFolder, readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'

const base = mkdtempSync(path.join(tmpdir(), 'md-read-migrations-'))
t.teardown(() => { rmSync(base, { recursive: true, force: true }) })

// Computed here, not with the project's helper, so the test checks it rather than repeats it.
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** Writes `<folder>/<name>/migration.sql` for each entry and returns the folder. */
function writeMigrations (folder: string, files: Record<string, string | Buffer>): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.join(folder, name), { recursive: true })
    writeFileSync(path.join(folder, name, 'migration.sql'), content)
  }
  return folder
}

let counter = 0
const freshDir = (): string => {
  const dir = path.join(base, `case-${++counter}`)
  mkdirSync(dir)
  return dir
}

t.test('compareNamesBytewise orders as Prisma does (UTF-8 bytes), not as localeCompare or JS sort', async (t) => {
  // Uppercase (0x41-0x5A) < "_" (0x5F) < lowercase (0x61-0x7A); digits (0x30-0x39) < "_".
  const pairs: Array<[string, string]> = [
    ['20250101000000_B', '20250101000000_a'],
    ['20250101000000_Zed', '20250101000000_alpha'],
    ['20250101000000_A_', '20250101000000_Aa'],
    ['20250101000000_a_b', '20250101000000_ab'],
    ['10_a', '1_a'],
    ['20250101000000_x', '20250101000000_x_y'],
    // U+FF61 is 3 bytes (EF BD A1), U+1F600 is 4 (F0 9F 98 80): bytes say FF61 first,
    // UTF-16 code units (JS's default sort) say the emoji's surrogate D83D first.
    ['20250101000000_\uFF61', '20250101000000_\u{1F600}']
  ]
  for (const [first, second] of pairs) {
    t.ok(compareNamesBytewise(first, second) < 0, `${first} < ${second}`)
    t.ok(compareNamesBytewise(second, first) > 0, `${second} > ${first}`)
  }
  t.equal(compareNamesBytewise('20250101000000_same', '20250101000000_same'), 0)
  // The test is only worth having if the other orders really differ on these names.
  t.ok('20250101000000_B'.localeCompare('20250101000000_a') > 0, 'localeCompare puts "a" before "B"')
  t.ok('1_a'.localeCompare('10_a') < 0, 'localeCompare puts "_" before digits')
  t.same(['20250101000000_\uFF61', '20250101000000_\u{1F600}'].sort(), ['20250101000000_\u{1F600}', '20250101000000_\uFF61'], 'JS sort compares UTF-16 code units')
})

t.test('readPrismaMigrations returns folders in byte order with their raw text', async (t) => {
  const dir = freshDir()
  // Created in a scrambled order, so directory order cannot make the test pass.
  const names = ['20250102000000_b', '1_a', '20250101000000_a', '20250101000000_\u{1F600}', '10_a', '20250101000000_B', '20250101000000_a_b', '20250101000000_ab', '20250101000000_\uFF61', '20250101000000_with space']
  writeMigrations(path.join(dir, 'prisma', 'migrations'), Object.fromEntries(names.map((name) => [name, `-- ${name}\nSELECT 1;\n`])))
  writeFileSync(path.join(dir, 'prisma', 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n')
  const migrations = await readPrismaMigrations(dir)
  t.same(migrations.map((m) => m.name), [
    '10_a',
    '1_a',
    '20250101000000_B',
    '20250101000000_a',
    '20250101000000_a_b',
    '20250101000000_ab',
    '20250101000000_with space',
    '20250101000000_\uFF61',
    '20250101000000_\u{1F600}',
    '20250102000000_b'
  ])
  for (const migration of migrations) {
    t.equal(migration.sql, `-- ${migration.name}\nSELECT 1;\n`)
    t.equal(migration.checksum, sha256(Buffer.from(migration.sql, 'utf8')))
  }
})

t.test('checksums are of the raw bytes: CRLF, a UTF-8 BOM and invalid UTF-8 included', async (t) => {
  const lf = Buffer.from('CREATE TABLE "A" ("id" INT);\n', 'utf8')
  const crlf = Buffer.from('CREATE TABLE "A" ("id" INT);\r\n', 'utf8')
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), lf])
  const latin1 = Buffer.from('-- caf\xe9\nSELECT 1;\n', 'latin1')
  const empty = Buffer.alloc(0)
  const dir = writeMigrations(freshDir(), { '1_lf': lf, '2_crlf': crlf, '3_bom': bom, '4_latin1': latin1, '5_empty': empty })
  const migrations = await readPrismaMigrations(dir)
  t.same(migrations.map((m) => m.name), ['1_lf', '2_crlf', '3_bom', '4_latin1', '5_empty'])
  const [m1, m2, m3, m4, m5] = migrations
  t.equal(m1?.checksum, sha256(lf))
  t.equal(m2?.checksum, sha256(crlf))
  t.equal(m3?.checksum, sha256(bom))
  t.equal(m4?.checksum, sha256(latin1))
  t.equal(m5?.checksum, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'sha256 of nothing')
  t.not(m1?.checksum, m2?.checksum, 'CRLF is not normalised away')
  t.not(m1?.checksum, m3?.checksum, 'the BOM is not stripped before hashing')
  t.match(m1?.checksum, /^[0-9a-f]{64}$/, 'lowercase hex')
  t.equal(m2?.sql, 'CREATE TABLE "A" ("id" INT);\r\n', 'the text keeps its CRLF')
  t.equal(m3?.sql, '\uFEFFCREATE TABLE "A" ("id" INT);\n', 'the text keeps its BOM')
  // The same bytes uploaded inline give the same checksum: the text round-trips for valid UTF-8.
  t.equal(sha256(Buffer.from(m3?.sql ?? '', 'utf8')), m3?.checksum)
})

t.test('folders without a migration.sql file are skipped', async (t) => {
  const dir = writeMigrations(freshDir(), { '20250101000000_first': 'SELECT 1;', '20250103000000_third': 'SELECT 3;' })
  mkdirSync(path.join(dir, '20250102000000_no_sql'))
  writeFileSync(path.join(dir, '20250102000000_no_sql', 'README.md'), 'nothing here')
  mkdirSync(path.join(dir, '20250102000001_sql_is_a_folder', 'migration.sql'), { recursive: true })
  mkdirSync(path.join(dir, '20250102000002_empty'))
  writeFileSync(path.join(dir, '20250102000003_a_file_not_a_folder.sql'), 'SELECT 2;')
  writeFileSync(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n')
  const migrations = await readPrismaMigrations(dir)
  t.same(migrations.map((m) => [m.name, m.sql]), [['20250101000000_first', 'SELECT 1;'], ['20250103000000_third', 'SELECT 3;']])
})

t.test('discovery: prisma/migrations, then migrations, then the folder itself', async (t) => {
  const project = freshDir()
  writeMigrations(path.join(project, 'prisma', 'migrations'), { '1_from_prisma': 'SELECT 1;' })
  writeMigrations(path.join(project, 'migrations'), { '1_from_migrations': 'SELECT 1;' })
  writeMigrations(project, { '1_from_itself': 'SELECT 1;' })
  t.equal(await findMigrationsFolder(project), path.join(project, 'prisma', 'migrations'))
  t.same((await readPrismaMigrations(project)).map((m) => m.name), ['1_from_prisma'], 'prisma/migrations wins')

  const flat = freshDir()
  writeMigrations(path.join(flat, 'migrations'), { '1_from_migrations': 'SELECT 1;' })
  writeMigrations(flat, { '1_from_itself': 'SELECT 1;' })
  t.same((await readPrismaMigrations(flat)).map((m) => m.name), ['1_from_migrations'], 'then migrations/')

  const itself = writeMigrations(freshDir(), { '1_from_itself': 'SELECT 1;' })
  t.equal(await findMigrationsFolder(itself), path.join(itself, '.'))
  t.same((await readPrismaMigrations(itself)).map((m) => m.name), ['1_from_itself'], 'then the folder itself')

  // A prisma/migrations folder with nothing usable in it does not hide a usable one further down.
  const hollow = freshDir()
  mkdirSync(path.join(hollow, 'prisma', 'migrations', '1_no_sql'), { recursive: true })
  writeMigrations(path.join(hollow, 'migrations'), { '1_real': 'SELECT 1;' })
  t.same((await readPrismaMigrations(hollow)).map((m) => m.name), ['1_real'])

  // The prisma folder itself also works (its migrations/ is found).
  t.same((await readPrismaMigrations(path.join(project, 'prisma'))).map((m) => m.name), ['1_from_prisma'])
})

t.test('no migrations anywhere: a clear error', async (t) => {
  const empty = freshDir()
  const lockOnly = freshDir()
  mkdirSync(path.join(lockOnly, 'prisma', 'migrations'), { recursive: true })
  writeFileSync(path.join(lockOnly, 'prisma', 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n')
  const oneMigration = writeMigrations(freshDir(), { '1_a': 'SELECT 1;' })
  for (const [label, dir] of [['an empty folder', empty], ['only migration_lock.toml', lockOnly], ['a single migration folder', path.join(oneMigration, '1_a')], ['a folder that does not exist', path.join(base, 'nope')]] as const) {
    await t.rejects(readPrismaMigrations(dir), { code: 'NO_MIGRATIONS_FOUND', statusCode: 400, message: /^no Prisma migrations found in [^/]+: expected prisma\/migrations\/<timestamp>_<name>\/migration\.sql$/ }, label)
    await t.rejects(readPrismaMigrations(dir), BadRequestError)
  }
})

t.test('checkPrismaMigrations (what accepting a deployment runs) refuses exactly what readPrismaMigrations refuses, with the same error', async (t) => {
  const outcome = async (promise: Promise<unknown>): Promise<unknown> => await promise.then(() => 'accepted', (error: BadRequestError) => ({ code: error.code, message: error.message }))
  const valid = writeMigrations(freshDir(), { '1_a': 'SELECT 1;', '2_b': 'SELECT 2;' })
  const badName = writeMigrations(freshDir(), { '1_a': 'SELECT 1;', zz_not_a_migration: 'SELECT 2;', 'also-bad': 'SELECT 3;' })
  const badNameWithoutSql = writeMigrations(freshDir(), { '1_a': 'SELECT 1;' })
  mkdirSync(path.join(badNameWithoutSql, 'node_modules'))
  mkdirSync(path.join(badNameWithoutSql, '2_no_sql_yet'))
  const sqlIsAFolder = writeMigrations(freshDir(), { '1_a': 'SELECT 1;' })
  mkdirSync(path.join(sqlIsAFolder, 'bad name', 'migration.sql'), { recursive: true })
  const cases = [['valid', valid, 'accepted'], ['an invalid name with a migration.sql', badName, 'refused'], ['invalid names without one', badNameWithoutSql, 'accepted'],
    ['an invalid name whose migration.sql is a folder', sqlIsAFolder, 'accepted'], ['nothing there', path.join(base, 'nope'), 'refused']] as const
  for (const [label, dir, expected] of cases) {
    const checked = await outcome(checkPrismaMigrations(dir))
    t.same(checked, await outcome(readPrismaMigrations(dir)), label)
    t.equal(checked === 'accepted' ? 'accepted' : 'refused', expected, label)
  }
  t.match(await outcome(checkPrismaMigrations(badName)), { code: 'INVALID_MIGRATION_NAME', message: /"also-bad"/ }, 'the first invalid name in byte order')
})
