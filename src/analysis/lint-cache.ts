import { lintOffThread } from './analysis-pool.js'
import type { LintOptions, LintWarning } from './lint.js'

// Bounded by the SQL it holds, as the analysis cache is.
const MAX_CACHED_CHARS = 16 * 1024 * 1024
const cache = new Map<string, LintWarning[]>()
let cachedChars = 0

/**
 * `lintOffThread`, remembered per file by its exact SQL text and the options: squawk lints each
 * file on its own (its findings and their lines depend on nothing else), so a file seen before
 * with the same options gets the same findings without a squawk run. A worker that plans the same
 * history again (another environment, a redeploy after a reset) lints only what it has not seen.
 * Oldest entries go first past 16 MB of SQL; a failed run is not remembered.
 */
export async function lintCached (files: Array<{ name: string, sql: string }>, options: LintOptions = {}): Promise<Map<string, LintWarning[]>> {
  const prefix = `${JSON.stringify(options)}\u0000`
  const results = new Map<string, LintWarning[]>()
  const misses: Array<{ name: string, sql: string }> = []
  for (const file of files) {
    const hit = cache.get(prefix + file.sql)
    if (hit === undefined) misses.push(file)
    else results.set(file.name, hit.map((warning) => ({ ...warning })))
  }
  if (misses.length > 0) {
    const linted = await lintOffThread(misses, options)
    for (const file of misses) {
      const warnings = linted.get(file.name) ?? []
      remember(prefix + file.sql, warnings)
      results.set(file.name, warnings)
    }
  }
  // In the order given, as lintMigrations answers.
  return new Map(files.map((file) => [file.name, results.get(file.name) ?? []]))
}

function remember (key: string, warnings: LintWarning[]): void {
  if (cache.has(key)) return
  cache.set(key, warnings.map((warning) => ({ ...warning })))
  cachedChars += key.length
  for (const [oldest] of cache) {
    if (cachedChars <= MAX_CACHED_CHARS || oldest === key) break
    cache.delete(oldest)
    cachedChars -= oldest.length
  }
}

/** Forgets every lint result (benchmarks measure cold plans with it). */
export function clearLintCache (): void {
  cache.clear()
  cachedChars = 0
}
