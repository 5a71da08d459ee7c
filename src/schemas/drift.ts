import { z } from 'zod'

/** `drift_watch` in GET /environments/:name/status (SPEC §15). */
export const driftWatchSchema = z.object({
  state: z.enum(['unknown', 'clean', 'drifted']),
  detected_at: z.string().nullable(),
  checked_at: z.string().nullable(),
  changes: z.array(z.object({ object: z.string().meta({ example: 'table public."audit_tmp"' }), change: z.enum(['added', 'removed', 'changed']) })),
  baseline_deployment_id: z.string().nullable().meta({ description: 'The deployment whose end the comparison is against (null: the first check\'s own reading)' })
}).nullable().meta({ id: 'DriftWatch', description: 'The drift watch: the target against what the last deployment left; null without drift_check' })
