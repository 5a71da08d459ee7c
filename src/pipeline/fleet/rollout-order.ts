import type { RolloutConfig } from '../../config/fleet-schema.js'

/** A number, or a percentage of `total` rounded up (at least 1 when the percentage is not 0). */
export function amountOf (value: number | string, total: number): number {
  if (typeof value === 'number') return value
  const percent = Number(value.slice(0, -1))
  return percent === 0 ? 0 : Math.max(1, Math.ceil(total * percent / 100))
}

/**
 * The order a rollout takes its open targets in: the canary (named targets, or the first n), then
 * batches of `batch_size`. A resumed rollout whose canary already succeeded has no canary left.
 */
export function rolloutOrder (rollout: RolloutConfig, open: readonly string[], total: number): { canary: string[], batches: string[][] } {
  const canary = typeof rollout.canary === 'number'
    ? open.slice(0, rollout.canary)
    : open.filter((name) => (rollout.canary as string[]).includes(name))
  const rest = open.filter((name) => !canary.includes(name))
  const size = Math.max(1, amountOf(rollout.batch_size, total))
  const batches: string[][] = []
  for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size))
  return { canary, batches }
}

/** How many failures stop the rollout: `max_failures`, at least 1 (0 means the first failure stops it). */
export function failureLimit (rollout: RolloutConfig, total: number): number {
  return Math.max(1, amountOf(rollout.max_failures, total))
}
