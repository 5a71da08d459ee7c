import { pino } from 'pino'
import { analyzeMigrationSql, clearAnalysisCache, lintMigrations } from '../src/analysis/index.js'
import { parseConfig } from '../src/config/load.js'
import { DEFAULT_LINT_EXCLUDE } from '../src/config/schema.js'
import { prismaHandler } from '../src/handlers/prisma/index.js'
import { analyzePlan } from '../src/pipeline/analyze-plan.js'
import { buildPlan } from '../src/pipeline/build-plan.js'
import { median, round } from './lib/stats.js'

export interface PlanningResult {
  migrations: number
  repetitions: number
  /** Medians, in ms, of each part on its own and of the whole plan as the worker builds it. */
  read_and_checksum_ms: number
  parse_ms: number
  lint_ms: number
  /** read + checksum, then analyzePlan (parse every file, lint them all with squawk): what the plan phase spends on the source. */
  total_ms: number
  /** The same plan again in the same process: every file seen before (the parse and lint caches hit). */
  total_warm_ms: number
}

async function timed<T> (fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const value = await fn()
  return [value, performance.now() - started]
}

/**
 * Planning alone, in this process, on the corpus: read the files and checksum them, parse each
 * with the PostgreSQL parser, lint them with squawk — and the plan as the worker builds it.
 * One warm-up first (it loads the parser's WASM module once, as a worker does at its first plan).
 */
export async function measurePlanning (corpus: string, repetitions: number): Promise<PlanningResult> {
  const environment = parseConfig({ environments: { corpus: { database_url_env: 'UNUSED' } } }, '/').environments.corpus
  if (environment === undefined) throw new Error('no environment')
  const logger = pino({ level: 'silent' })
  const reads: number[] = []
  const parses: number[] = []
  const lints: number[] = []
  const totals: number[] = []
  const warmTotals: number[] = []
  let count = 0
  for (let rep = -1; rep < repetitions; rep++) {
    const [files, readMs] = await timed(async () => await prismaHandler.readSource(corpus))
    const [, parseMs] = await timed(async () => await Promise.all(files.map(async (file) => await analyzeMigrationSql(file.sql))))
    const [, lintMs] = await timed(async () => await lintMigrations(files, { excludedRules: DEFAULT_LINT_EXCLUDE, assumeInTransaction: true }))
    // Cold, as a worker's first plan of these files: the parse above filled the analysis cache.
    clearAnalysisCache()
    const [, totalMs] = await timed(async () => {
      const source = await prismaHandler.readSource(corpus)
      return await analyzePlan(buildPlan('corpus', source), source, environment, logger)
    })
    // Warm: a worker planning the same files again (another database, a redeploy after a reset).
    const [, warmMs] = await timed(async () => {
      const source = await prismaHandler.readSource(corpus)
      return await analyzePlan(buildPlan('corpus', source), source, environment, logger)
    })
    count = files.length
    if (rep < 0) continue
    warmTotals.push(warmMs)
    reads.push(readMs)
    parses.push(parseMs)
    lints.push(lintMs)
    totals.push(totalMs)
  }
  return {
    migrations: count,
    repetitions,
    read_and_checksum_ms: round(median(reads)),
    parse_ms: round(median(parses)),
    lint_ms: round(median(lints)),
    total_ms: round(median(totals)),
    total_warm_ms: round(median(warmTotals))
  }
}
