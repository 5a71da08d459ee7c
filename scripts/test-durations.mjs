// Refresh test/file-durations.tsv (seconds per test file, which scripts/test-lanes.mjs balances
// its lanes by) from the raw TAP of a run: `npm test > run.log` (not on a terminal, so the output
// is raw TAP), then
//
//   node scripts/test-durations.mjs run.log [more.log...]
//
// Each file's result line ("ok 12 - test/x/y.test.ts # time=1234.5ms") gives its time. Files the
// logs do not mention keep their old entry; entries for files that no longer exist are dropped.
import fs from 'node:fs'
import path from 'node:path'
import { readDurationTable } from './file-durations.mjs'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const table = path.join(root, 'test', 'file-durations.tsv')
const logs = process.argv.slice(2)
if (!logs.length) {
  console.error('usage: node scripts/test-durations.mjs RUN.log [MORE.log...]')
  process.exit(2)
}

const seconds = readDurationTable(table)

const RESULT = /^(?:not )?ok \d+ - (test\/\S+\.test\.ts)\b.*# time=([\d.]+)(ms|s)\b/
let found = 0
for (const log of logs) {
  for (const line of fs.readFileSync(log, 'utf8').split(/\r?\n/)) {
    const m = RESULT.exec(line)
    if (!m) continue
    seconds.set(m[1], Number(m[2]) / (m[3] === 'ms' ? 1000 : 1))
    found++
  }
}
if (!found) {
  console.error('test-durations: no file result lines ("ok N - test/....test.ts # time=...") in ' + logs.join(', '))
  process.exit(1)
}

const rows = [...seconds].filter(([file]) => fs.existsSync(path.join(root, file))).sort(([a], [b]) => a.localeCompare(b))
const header = '# seconds\tfile  (written by scripts/test-durations.mjs from a run\'s raw TAP; used to balance test lanes)\n'
fs.writeFileSync(table, header + rows.map(([file, sec]) => `${sec.toFixed(1)}\t${file}`).join('\n') + '\n')
console.log(`test-durations: ${found} results read, ${rows.length} files in ${path.relative(root, table)}`)
