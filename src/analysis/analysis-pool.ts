import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { MigrationTooLargeError, ParseTimeoutError } from '../errors/index.js'
import type { SqlAnalysis } from './analyze-sql.js'
import type { ThreadAnalysis } from './analysis-thread.js'
import type { LintOptions, LintWarning } from './lint.js'

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

let pool: Piscina | undefined

function threads (): Piscina {
  pool ??= new Piscina({
    filename: threadFile,
    minThreads: 0,
    maxThreads: threadCount(),
    // Threads live on for a minute after their last task: a plan's second parse (at apply) finds them ready.
    idleTimeout: 60_000,
    // Not the main thread's loader flags (a test runner's hooks, say): the thread loads only what it needs.
    execArgv: [],
    // No run and wait time histograms: nothing reads them.
    recordTiming: false,
    // A hostile file makes the thread run out of memory, not the process.
    resourceLimits: { maxOldGenerationSizeMb: 512 }
  })
  return pool
}

/**
 * Runs one analysis on a thread, stopping it (the pool starts another) `timeoutMs` after the
 * thread began it: time spent waiting for a thread, or for one to start, is not parse time.
 */
async function analyzeOnThread (task: { sql: string, maxStatements?: number | undefined }, timeoutMs: number): Promise<ThreadAnalysis> {
  const { port1: started, port2: startedInThread } = new MessageChannel()
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  started.once('message', () => { timer = setTimeout(() => { abort.abort() }, timeoutMs) })
  try {
    return await threads().run({ ...task, started: startedInThread }, { name: 'analyze', signal: abort.signal, transferList: [startedInThread] }) as ThreadAnalysis
  } finally {
    clearTimeout(timer)
    started.close()
  }
}

/**
 * `analyzeMigrationSql` on a worker thread: however long a migration takes to parse, the event
 * loop (the API's, in the all-in-one process) goes on answering. Throws MigrationTooLargeError
 * past `maxStatements` and ParseTimeoutError past `timeoutMs` (the thread is stopped; the pool
 * starts another).
 */
export async function analyzeOffThread (sql: string, limits: AnalysisLimits = {}): Promise<SqlAnalysis> {
  const timeoutMs = limits.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS
  let result: ThreadAnalysis
  try {
    result = await analyzeOnThread({ sql, maxStatements: limits.maxStatements }, timeoutMs)
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new ParseTimeoutError(`parsing took longer than ${timeoutMs / 1000}s and was stopped`, { timeout_ms: timeoutMs })
    throw error
  }
  if ('analysis' in result) return result.analysis
  const limit = limits.maxStatements as number
  const count = result.counted === 'lexically' ? `more than ${limit}` : String(result.tooManyStatements)
  throw new MigrationTooLargeError(`${count} statements; one migration may hold at most ${limit}`, { statements: result.tooManyStatements, limit })
}

/** `lintMigrations` on a worker thread (squawk's report is read there). */
export async function lintOffThread (files: Array<{ name: string, sql: string }>, options: LintOptions = {}): Promise<Map<string, LintWarning[]>> {
  if (files.length === 0) return new Map()
  return await threads().run({ files: files.map(({ name, sql }) => ({ name, sql })), options }, { name: 'lint' }) as Map<string, LintWarning[]>
}

/**
 * Stops the threads (graceful shutdown); the next analysis starts a new pool. Idle threads do not
 * keep a process alive, so tests need not call it.
 */
export async function closeAnalysisPool (): Promise<void> {
  const closing = pool
  pool = undefined
  await closing?.destroy()
}
