import t from 'tap'
import { analyzeMigrationSql, analyzeOffThread, lintMigrations, lintOffThread } from '../../src/analysis/index.js'
import { MigrationTooLargeError, ParseTimeoutError } from '../../src/errors/index.js'

/** The analysis pool: the whole analysis on a worker thread, within a statement cap and a parse timeout. */

const statements = (count: number): string => Array.from({ length: count }, (_unused, i) => `CREATE TABLE "t${i}" (id int);`).join('\n')

/** The longest the event loop went without turning while `work` ran (a 5 ms timer's largest gap). */
async function longestStall (work: () => Promise<unknown>): Promise<number> {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 5)
  try {
    await work()
    longest = Math.max(longest, performance.now() - last)
  } finally {
    clearInterval(timer)
  }
  return longest
}

t.test('off the event loop: the same analysis as in process, while the loop keeps turning', async (t) => {
  await analyzeOffThread('SELECT 1') // a thread up and its parser loaded
  const sql = statements(6000)
  let offThread: Awaited<ReturnType<typeof analyzeOffThread>> | undefined
  const stallOff = await longestStall(async () => { offThread = await analyzeOffThread(sql) })
  let inProcess: Awaited<ReturnType<typeof analyzeMigrationSql>> | undefined
  const stallIn = await longestStall(async () => { inProcess = await analyzeMigrationSql(sql) })
  t.same(offThread, inProcess, 'the same analysis')
  t.equal(offThread?.statements.length, 6000)
  t.comment(`longest stall of the event loop: ${stallIn.toFixed(0)} ms parsing in process, ${stallOff.toFixed(0)} ms on a thread`)
  t.ok(stallOff < stallIn / 3, `on a thread the loop never stops for long (${stallOff.toFixed(0)} ms against ${stallIn.toFixed(0)} ms in process)`)
})

t.test('more statements than allowed: MigrationTooLargeError, before parsing when a cheap count says so', async (t) => {
  await t.resolves(analyzeOffThread(statements(100), { maxStatements: 100 }), 'exactly the limit passes')
  const started = performance.now()
  const error = await analyzeOffThread('SELECT 1;'.repeat(200_000), { maxStatements: 10_000 }).catch((e: unknown) => e)
  t.type(error, MigrationTooLargeError)
  t.match(error, { code: 'MIGRATION_TOO_LARGE', statusCode: 422, message: 'more than 10000 statements; one migration may hold at most 10000', details: { statements: 10_001, limit: 10_000 } })
  t.ok(performance.now() - started < 10_000, '200,000 statements refused without parsing them (the parser needs about 20 s)')
})

t.test('parsing for longer than the timeout: ParseTimeoutError, and the pool goes on working', async (t) => {
  const error = await analyzeOffThread(statements(20_000), { timeoutMs: 50 }).catch((e: unknown) => e)
  t.type(error, ParseTimeoutError)
  t.match(error, { code: 'PARSE_TIMEOUT', statusCode: 422, message: 'parsing took longer than 0.05s and was stopped', details: { timeout_ms: 50 } })
  t.equal((await analyzeOffThread('SELECT 1; SELECT 2;')).statements.length, 2, 'the next analysis runs on a fresh thread')
})

t.test('analyses asked for together share thread tasks, and the one past the timeout fails alone', async (t) => {
  const quick = Array.from({ length: 40 }, (_unused, i) => `CREATE TABLE "q${i}" (id int);`)
  // About 20 s of parsing against 3 s allowed; the quick files need a few ms each, on a new thread too.
  const files = [...quick.slice(0, 20), statements(200_000), ...quick.slice(20)]
  const results = await Promise.allSettled(files.map(async (sql) => await analyzeOffThread(sql, { timeoutMs: 3000 })))
  const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [index] : []))
  t.same(failed, [20], 'only the slow file fails')
  t.type((results[20] as PromiseRejectedResult).reason, ParseTimeoutError)
  t.same((results[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof analyzeOffThread>>>).value, await analyzeMigrationSql(files[0] as string), 'the others get their analyses')
  t.equal((results[40] as PromiseFulfilledResult<Awaited<ReturnType<typeof analyzeOffThread>>>).value.statements[0]?.sql, 'CREATE TABLE "q39" (id int);')
})

t.test('lint on a thread gives what lint in process gives', async (t) => {
  const files = [{ name: '20250101000000_drop', sql: 'ALTER TABLE "User" DROP COLUMN "email";' }, { name: '20250101000001_fine', sql: 'SELECT 1;' }]
  t.same(await lintOffThread(files, { assumeInTransaction: true }), await lintMigrations(files, { assumeInTransaction: true }))
  t.ok((await lintOffThread(files, { assumeInTransaction: true })).get('20250101000000_drop')?.some((w) => w.rule === 'ban-drop-column'), 'squawk\'s findings')
})
