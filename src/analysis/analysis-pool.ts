import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
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
let running = 0
const waiting: Array<() => void> = []

function threads (): Piscina {
  pool ??= new Piscina({
    filename: threadFile,
    minThreads: 0,
    maxThreads: threadCount(),
    // Threads live on for a minute after their last task: a plan's second parse (at apply) finds the parser loaded.
    idleTimeout: 60_000,
    // A hostile file makes the thread run out of memory, not the process.
    resourceLimits: { maxOldGenerationSizeMb: 512 }
  })
  return pool
}

/**
 * Runs one task on a free thread. Tasks wait here, not in Piscina's queue, so a task's timeout
 * counts from when a thread takes it: waiting behind other plans is not parse time.
 */
async function onThread<T> (name: 'analyze' | 'lint', task: unknown, timeoutMs?: number): Promise<T> {
  const piscina = threads()
  if (running >= piscina.options.maxThreads) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    return await piscina.run(task, { name, ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }) }) as T
  } finally {
    running--
    waiting.shift()?.()
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
    result = await onThread<ThreadAnalysis>('analyze', { sql, maxStatements: limits.maxStatements }, timeoutMs)
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new ParseTimeoutError(`parsing took longer than ${timeoutMs / 1000}s and was stopped`, { timeout_ms: timeoutMs })
    throw error
  }
  if ('analysis' in result) return result.analysis
  const limit = limits.maxStatements as number
  const count = result.counted === 'lexically' ? `more than ${limit}` : String(result.tooManyStatements)
  throw new MigrationTooLargeError(`${count} statements, more than the ${limit} one migration may hold`, { statements: result.tooManyStatements, limit })
}

/** `lintMigrations` on a worker thread (squawk's report is read there). */
export async function lintOffThread (files: Array<{ name: string, sql: string }>, options: LintOptions = {}): Promise<Map<string, LintWarning[]>> {
  if (files.length === 0) return new Map()
  return await onThread<Map<string, LintWarning[]>>('lint', { files: files.map(({ name, sql }) => ({ name, sql })), options })
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
