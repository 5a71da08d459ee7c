import { analyzeMigrationSql, type SqlAnalysis } from './analyze-sql.js'
import type { LintOptions, LintWarning } from './lint.js'
import { loadPgParser } from './pg-parser.js'
import { countStatements } from './statement-count.js'
import { markBegun, type TaskProgress } from './task-progress.js'

/** What the analysis thread answers: the analysis, or how many statements it stopped counting at. */
export type ThreadAnalysis = { analysis: SqlAnalysis } | { tooManyStatements: number, counted: 'lexically' | 'parsed' }

/** One migration to analyse, and the most statements it may hold. */
export interface AnalyzeItem {
  sql: string
  maxStatements?: number | undefined
}

/** One analysis task: several migrations, in order; `progress` is marked as this thread begins each one (its parse timeout counts from then). */
export interface AnalyzeTask {
  items: AnalyzeItem[]
  progress?: TaskProgress
}

// The parser (WebAssembly) loads while the thread starts, not in its first task's parse time.
await loadPgParser()

/**
 * Runs in a worker thread of the analysis pool (see analysis-pool.ts), never on the event loop:
 * the whole analysis of each migration, whatever `analyzeMigrationSql` does. A file with more than
 * `maxStatements` statements is refused before the parse when a cheap count already says so (a
 * 200,000-statement file costs the parser about 20 s), and after it otherwise.
 */
export async function analyze (task: AnalyzeTask): Promise<ThreadAnalysis[]> {
  const results: ThreadAnalysis[] = []
  for (const [index, item] of task.items.entries()) {
    if (task.progress !== undefined) markBegun(task.progress, index)
    results.push(await analyzeOne(item))
  }
  return results
}

async function analyzeOne ({ sql, maxStatements }: AnalyzeItem): Promise<ThreadAnalysis> {
  if (maxStatements !== undefined) {
    const counted = countStatements(sql, maxStatements)
    if (counted > maxStatements) return { tooManyStatements: counted, counted: 'lexically' }
  }
  const analysis = await analyzeMigrationSql(sql)
  if (maxStatements !== undefined && analysis.statements.length > maxStatements) return { tooManyStatements: analysis.statements.length, counted: 'parsed' }
  return { analysis }
}

/** squawk over the files, in the thread: its JSON report (megabytes for a big plan) is read here, not on the event loop. */
export async function lint (task: { files: Array<{ name: string, sql: string }>, options: LintOptions }): Promise<Map<string, LintWarning[]>> {
  // Loaded on first use: a thread that only parses starts faster without squawk's report schema (zod).
  const { lintMigrations } = await import('./lint.js')
  return await lintMigrations(task.files, task.options)
}
