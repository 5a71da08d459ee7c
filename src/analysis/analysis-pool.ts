import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { MigrationTooLargeError, ParseTimeoutError } from '../errors/index.js'
import type { SqlAnalysis } from './analyze-sql.js'
import type { AnalyzeItem, AnalyzeTask, ThreadAnalysis } from './analysis-thread.js'
import { batched } from '../lib/batched.js'
import type { LintOptions, LintWarning } from './lint.js'
import { beganAt, newTaskProgress, now } from './task-progress.js'

/** What one analysis may cost; both optional (no statement cap, the default parse timeout). */
export interface AnalysisLimits {
  /** More statements than this: MigrationTooLargeError (limits.max_statements_per_migration). */
  maxStatements?: number | undefined
  /** Parsing for longer than this: the thread is stopped and ParseTimeoutError thrown (limits.parse_timeout). */
  timeoutMs?: number | undefined
}

export const DEFAULT_PARSE_TIMEOUT_MS = 30_000

// A build runs the compiled thread; running from source (tsx) goes through a shim that loads tsx.
const compiledThread = new URL('./analysis-thread.js', import.meta.url)
const threadFile = existsSync(compiledThread) ? compiledThread.href : new URL('./analysis-thread-tsx.mjs', import.meta.url).href

/** ANALYSIS_THREADS, else all cores but one (at least one, at most four): the event loop keeps a core. */
function threadCount (): number {
  const configured = Number(process.env.ANALYSIS_THREADS)
  if (Number.isInteger(configured) && configured > 0) return configured
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

let parsePool: Piscina | undefined
let lintPool: Piscina | undefined

function newPool (minThreads: number, maxThreads: number): Piscina {
  return new Piscina({
    filename: threadFile,
    minThreads,
    maxThreads,
    // Threads live on for a minute after their last task: a plan's second parse (at apply) finds them ready.
    idleTimeout: 60_000,
    // Not the main thread's loader flags (a test runner's hooks, say): the thread loads only what it needs.
    execArgv: [],
    // No run and wait time histograms: nothing reads them.
    recordTiming: false,
    // A hostile file makes the thread run out of memory, not the process.
    resourceLimits: { maxOldGenerationSizeMb: 512 }
  })
}

// One parse thread stays up. Piscina 5 replaces a thread stopped by a parse timeout only up to
// `minThreads`, and with none left it never ran the tasks queued behind the stopped one: with 0, a
// plan with one file past limits.parse_timeout among others waited forever. (A plan's first parse
// also finds the parser loaded.)
function parseThreads (): Piscina {
  parsePool ??= newPool(1, threadCount())
  return parsePool
}

// Linting has a thread of its own: it spends most of its time waiting for squawk's process, and on
// a parse thread it would hold every parse of the plan behind it (with one parse thread, as on 2
// cores, a cold plan took lint + parse instead of the longer of the two: 327 ms against 121 + 71).
function lintThreads (): Piscina {
  lintPool ??= newPool(0, 1)
  return lintPool
}

interface ParseRequest extends AnalyzeItem {
  timeoutMs: number
}

/**
 * Several analyses as one task on a thread, each stopped (the thread with it; the pool starts
 * another) `timeoutMs` after the thread began it: time spent waiting for a thread, or for one to
 * start, is not parse time. One task for many files keeps the thread parsing instead of waiting a
 * round trip to the event loop between files (163 files: about 130 ms one task each, 60 ms in
 * tasks of 32, on 2 cores). A task of several that runs out of time throws, and `batched` runs each
 * of its files again alone, so only the slow file gets the ParseTimeoutError.
 */
async function analyzeOnThread (requests: readonly ParseRequest[]): Promise<ThreadAnalysis[]> {
  const progress = newTaskProgress()
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  // The timer looks at the file the thread is on when it fires, and stops the task only when that
  // file has had its whole timeout; otherwise it looks again when it would have.
  const check = (): void => {
    const begun = beganAt(progress)
    if (begun === undefined) {
      timer = setTimeout(check, requests[0]?.timeoutMs)
      return
    }
    const left = (requests[begun.index]?.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS) - (now() - begun.at)
    if (left <= 0) abort.abort()
    else timer = setTimeout(check, left)
  }
  timer = setTimeout(check, Math.min(...requests.map((request) => request.timeoutMs)))
  const task: AnalyzeTask = { items: requests.map(({ sql, maxStatements }) => ({ sql, maxStatements })), progress }
  try {
    return await parseThreads().run(task, { name: 'analyze', signal: abort.signal }) as ThreadAnalysis[]
  } catch (error) {
    if ((error as Error).name !== 'AbortError' || requests.length > 1) throw error
    const timeoutMs = requests[0]?.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS
    throw new ParseTimeoutError(`parsing took longer than ${timeoutMs / 1000}s and was stopped`, { timeout_ms: timeoutMs })
  } finally {
    clearTimeout(timer)
  }
}

// Calls made together (a plan's files) share tasks of up to 32 files; two tasks per thread are in
// flight, so a thread finds its next task waiting when it ends one.
let analyzeBatched: ((request: ParseRequest) => Promise<ThreadAnalysis>) | undefined

/**
 * `analyzeMigrationSql` on a worker thread: however long a migration takes to parse, the event
 * loop (the API's, in the all-in-one process) goes on answering. Throws MigrationTooLargeError
 * past `maxStatements` and ParseTimeoutError past `timeoutMs` (the thread is stopped; the pool
 * starts another).
 */
export async function analyzeOffThread (sql: string, limits: AnalysisLimits = {}): Promise<SqlAnalysis> {
  analyzeBatched ??= batched(async (requests: readonly ParseRequest[]) => await analyzeOnThread(requests), { maxBatchSize: 32, maxInFlight: 2 * threadCount() })
  const result = await analyzeBatched({ sql, maxStatements: limits.maxStatements, timeoutMs: limits.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS })
  if ('analysis' in result) return result.analysis
  const limit = limits.maxStatements as number
  const count = result.counted === 'lexically' ? `more than ${limit}` : String(result.tooManyStatements)
  throw new MigrationTooLargeError(`${count} statements; one migration may hold at most ${limit}`, { statements: result.tooManyStatements, limit })
}

/** `lintMigrations` on a worker thread (squawk's report is read there). */
export async function lintOffThread (files: Array<{ name: string, sql: string }>, options: LintOptions = {}): Promise<Map<string, LintWarning[]>> {
  if (files.length === 0) return new Map()
  return await lintThreads().run({ files: files.map(({ name, sql }) => ({ name, sql })), options }, { name: 'lint' }) as Map<string, LintWarning[]>
}

/**
 * Stops the threads (graceful shutdown); the next analysis starts a new pool. Idle threads do not
 * keep a process alive, so tests need not call it.
 */
export async function closeAnalysisPool (): Promise<void> {
  const closing = [parsePool, lintPool]
  parsePool = undefined
  lintPool = undefined
  await Promise.all(closing.map(async (pool) => { await pool?.destroy() }))
}
