import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'
import { lintMigrations } from '../../src/analysis/lint.js'
import { LintError } from '../../src/analysis/lint-error.js'
import { documensoSkip, DOCUMENSO } from '../helpers/corpus.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const dropColumn = await readPrismaMigrations(path.join(ROOT, 'migrations-fixtures/drop-column/prisma/migrations'))
// A temporary folder of this file's own: other test files (and other checkouts) lint at the same time in the system's.
process.env.TMPDIR = mkdtempSync(path.join(tmpdir(), 'md-lint-test-'))
t.teardown(() => { rmSync(process.env.TMPDIR as string, { recursive: true, force: true }) })
const squawkDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('md-squawk-'))

t.test('drop-column: the second migration gets a ban-drop-column warning, the first none', async (t) => {
  const before = squawkDirs()
  const results = await lintMigrations(dropColumn, { pgVersion: '15' })
  t.same([...results.keys()], ['20250301090000_init', '20250302090000_drop_user_legacy_id'], 'every migration, in input order')
  t.notOk(results.get('20250301090000_init')?.some((w) => w.rule === 'ban-drop-column'))
  const drop = results.get('20250302090000_drop_user_legacy_id') ?? []
  t.same(drop.filter((w) => w.rule === 'ban-drop-column'), [
    { rule: 'ban-drop-column', message: 'Dropping a column may break existing clients.', level: 'warning', line: 8 }
  ], 'line 8 of the file: squawk counts from 0, we from 1')
  t.match(drop.find((w) => w.rule === 'require-lock-timeout'), { message: /^Missing `set lock_timeout` before .*\. Configure a `lock_timeout` before this statement\./ }, 'message and help read as one text')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(squawkDirs(), before, 'the temporary folder is removed (right after the findings are returned)')
})

t.test('excluded rules are excluded, and only those', async (t) => {
  const all = await lintMigrations(dropColumn)
  const some = await lintMigrations(dropColumn, { excludedRules: ['ban-drop-column', 'prefer-robust-stmts'] })
  const rules = (results: typeof all): string[] => [...results.values()].flat().map((w) => w.rule)
  t.ok(rules(all).includes('prefer-robust-stmts'))
  t.same(rules(some).filter((rule) => rule === 'ban-drop-column' || rule === 'prefer-robust-stmts'), [])
  t.same(rules(some), rules(all).filter((rule) => rule !== 'ban-drop-column' && rule !== 'prefer-robust-stmts'))
  await t.rejects(lintMigrations(dropColumn, { excludedRules: ['no-such-rule'] }), LintError, 'an unknown rule is an error, not a silent no-op')
  await t.rejects(lintMigrations(dropColumn, { excludedRules: ['no-such-rule'] }), { code: 'LINT_FAILED', message: /invalid rule name no-such-rule/ })
})

t.test('the PostgreSQL version changes the advice', async (t) => {
  const files = [{ name: 'add_default', sql: 'ALTER TABLE "User" ADD COLUMN "score" integer DEFAULT 0;\n' }]
  const rules = async (pgVersion: string): Promise<string[]> => ((await lintMigrations(files, { pgVersion })).get('add_default') ?? []).map((w) => w.rule)
  t.ok((await rules('10')).includes('adding-field-with-default'), 'before PostgreSQL 11 a default rewrites the table')
  t.notOk((await rules('15')).includes('adding-field-with-default'), 'not since')
  await t.rejects(lintMigrations(files, { pgVersion: 'banana' }), { code: 'LINT_FAILED' })
})

t.test('a syntax error is a finding, not a crash; other files are still linted', async (t) => {
  const results = await lintMigrations([
    { name: '001 broken', sql: 'CREATE TABLE "a" (id int);\nSELEC 1;\n' },
    { name: '002/odd name', sql: 'SELECT 1;\n' },
    { name: '003_drop', sql: 'ALTER TABLE "a" DROP COLUMN "b";\n' }
  ])
  const broken = (results.get('001 broken') ?? []).filter((w) => w.rule === 'syntax-error')
  t.ok(broken.length > 0, 'squawk\'s parse error is reported')
  t.match(broken[0], { level: 'error', line: 2, message: /^squawk could not parse this SQL: / })
  t.same(results.get('002/odd name'), [], 'a clean file has an empty list; names with spaces and slashes map back')
  t.ok(results.get('003_drop')?.some((w) => w.rule === 'ban-drop-column'))
})

t.test('edge cases of the input', async (t) => {
  t.same(await lintMigrations([]), new Map(), 'nothing to lint: squawk is not run')
  t.same(await lintMigrations([{ name: 'empty', sql: '' }]), new Map([['empty', []]]))
  await t.rejects(lintMigrations([{ name: 'x', sql: '' }, { name: 'x', sql: '' }]), TypeError, 'duplicate names')
})

t.test('documenso: 163 files in one squawk run', { skip: documensoSkip() }, async (t) => {
  const migrations = await readPrismaMigrations(DOCUMENSO)
  t.equal(migrations.length, 163)
  const started = performance.now()
  const results = await lintMigrations(migrations, { pgVersion: '15' })
  const elapsed = performance.now() - started
  const counts = new Map<string, number>()
  for (const warning of [...results.values()].flat()) counts.set(warning.rule, (counts.get(warning.rule) ?? 0) + 1)
  t.comment(`squawk linted 163 documenso files in ${elapsed.toFixed(0)} ms: ${[...counts].map(([rule, n]) => `${rule} ${n}`).join(', ')}`)
  t.equal(results.size, 163)
  t.notOk(counts.has('syntax-error'), 'squawk parses every file')
  t.ok((counts.get('ban-drop-column') ?? 0) > 0)
})
