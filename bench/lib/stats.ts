/** Small statistics over samples (milliseconds, requests per second, …). */

/** The value at `p` (0–100) by the nearest-rank method: the smallest sample with at least p% of samples at or below it. */
export function percentile (samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1] as number
}

export function median (samples: number[]): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function mean (samples: number[]): number {
  return samples.length === 0 ? Number.NaN : samples.reduce((sum, value) => sum + value, 0) / samples.length
}

/** Rounds for display and for results.json: `digits` decimals. */
export function round (value: number, digits = 1): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** Milliseconds since `startNs` (from `process.hrtime.bigint()`). */
export function elapsedMs (startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e6
}
