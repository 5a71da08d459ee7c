import { MigrationTooLargeError } from '../errors/index.js'
import { analyzeOffThread, type AnalysisLimits } from './analysis-pool.js'
import type { SqlAnalysis } from './analyze-sql.js'
import { clearLintCache } from './lint-cache.js'

// Bounded by the SQL it holds (the analyses hold about as much again, as statement texts).
const MAX_CACHED_CHARS = 16 * 1024 * 1024
const cache = new Map<string, Promise<SqlAnalysis>>()
let cachedChars = 0

/**
 * `analyzeMigrationSql`, on a worker thread (see analyzeOffThread), remembered by the exact SQL
 * text: a deployment parses its pending migrations when it plans and again, right before applying
 * them, in the same worker; the second time is free. The analysis depends on nothing but the
 * text, so a hit is exactly what a parse would return; `limits` apply to hits too. The oldest
 * entries go first once the cache holds 16 MB of SQL. Callers must not modify the analysis they get.
 */
export async function analyzeMigrationSqlCached (sql: string, limits: AnalysisLimits = {}): Promise<SqlAnalysis> {
  const analysis = await cachedAnalysis(sql, limits)
  const { maxStatements } = limits
  if (maxStatements !== undefined && analysis.statements.length > maxStatements) {
    const count = analysis.statements.length
    throw new MigrationTooLargeError(`${count} statements; one migration may hold at most ${maxStatements}`, { statements: count, limit: maxStatements })
  }
  return analysis
}

async function cachedAnalysis (sql: string, limits: AnalysisLimits): Promise<SqlAnalysis> {
  const hit = cache.get(sql)
  if (hit !== undefined) {
    // Refresh: Map keeps insertion order, so re-inserting makes this the newest entry.
    cache.delete(sql)
    cache.set(sql, hit)
    return await hit
  }
  const analysis = analyzeOffThread(sql, limits)
  cache.set(sql, analysis)
  cachedChars += sql.length
  // A failed analysis (too large, too slow, not a parse error, which is a result) is not remembered.
  analysis.catch(() => { forget(sql, analysis) })
  for (const [key, value] of cache) {
    if (cachedChars <= MAX_CACHED_CHARS || key === sql) break
    forget(key, value)
  }
  return await analysis
}

function forget (sql: string, entry: Promise<SqlAnalysis>): void {
  if (cache.get(sql) !== entry) return
  cache.delete(sql)
  cachedChars -= sql.length
}

/** Forgets every analysis and lint result (benchmarks measure cold plans with it). */
export function clearAnalysisCache (): void {
  cache.clear()
  cachedChars = 0
  clearLintCache()
}
