import { z } from 'zod'
import { durationMs } from './duration.js'

/** `drift_check:` of an environment (SPEC §15): how often the drift watch compares the target with what the last deployment left. */
export const driftCheckSchema = z.strictObject({
  every: durationMs.refine((ms) => ms >= 10_000, 'check at most every 10s (e.g. "15m")').default(15 * 60_000)
})
