import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { clearAnalysisCache, lintCached, lintMigrations } from '../../src/analysis/index.js'
import { readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const dropColumn = await readPrismaMigrations(path.join(ROOT, 'migrations-fixtures/drop-column/prisma/migrations'))
// A temporary folder of this file's own: other test files lint at the same time in the system's.
process.env.TMPDIR = mkdtempSync(path.join(tmpdir(), 'md-lint-cache-test-'))
t.teardown(() => { rmSync(process.env.TMPDIR as string, { recursive: true, force: true }) })

const rules = (warnings: Array<{ rule: string }> | undefined): string[] => (warnings ?? []).map((w) => w.rule).sort()

t.test('cached lint results are what squawk says, per file text and options, and callers cannot change them', async (t) => {
  clearAnalysisCache()
  const direct = await lintMigrations(dropColumn, { assumeInTransaction: true })
  const first = await lintCached(dropColumn, { assumeInTransaction: true })
  t.same(first, direct, 'the first run: squawk\'s own findings, every migration in input order')
  first.get(dropColumn[1]?.name as string)?.splice(0)
  const again = await lintCached(dropColumn, { assumeInTransaction: true })
  t.same(again, direct, 'seen before: the same findings, untouched by what a caller did to the last answer')

  const [init, drop] = dropColumn as [typeof dropColumn[number], typeof dropColumn[number]]
  const renamed = await lintCached([{ name: 'other-name', sql: drop.sql }, init], { assumeInTransaction: true })
  t.same([...renamed.keys()], ['other-name', init.name], 'answered under the names asked for, in that order')
  t.same(rules(renamed.get('other-name')), rules(direct.get(drop.name)), 'the same text under another name: the same findings')

  const excluded = await lintCached(dropColumn, { assumeInTransaction: true, excludedRules: ['ban-drop-column'] })
  t.notOk(excluded.get(drop.name)?.some((w) => w.rule === 'ban-drop-column'), 'other options are another entry: the excluded rule is gone')
  t.ok(again.get(drop.name)?.some((w) => w.rule === 'ban-drop-column'), 'and the first options still find it')

  const changed = await lintCached([{ name: drop.name, sql: 'SELECT 1;\n' }], { assumeInTransaction: true })
  t.notOk(changed.get(drop.name)?.some((w) => w.rule === 'ban-drop-column'), 'a changed text is linted again, not taken from the cache by name')
})
