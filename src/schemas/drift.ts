import { z } from 'zod'

/** `drift_watch` in GET /environments/:name/status (SPEC §15). */
export const driftWatchSchema = z.object({
  state: z.enum(['unknown', 'clean', 'drifted']),
  detected_at: z.string().nullable(),
  checked_at: z.string().nullable(),
  changes: z.array(z.object({ object: z.string().meta({ example: 'table public."audit_tmp"' }), change: z.enum(['added', 'removed', 'changed']) })),
  baseline_deployment_id: z.string().nullable().meta({ description: 'The deployment whose end the comparison is against (null: the first check\'s own reading)' })
}).nullable().meta({ id: 'DriftWatch', description: 'The drift watch: the target against what the last deployment left; null without drift_check' })

/** GET /environments/:name/drift: the drift watch of one environment, read from the control database only. */
export const environmentDriftSchema = z.object({
  environment: z.string(),
  every_seconds: z.number().nullable().meta({ description: 'drift_check.every; null when the environment has no drift watch' }),
  drift_watch: driftWatchSchema,
  checks: z.array(z.object({
    checked_at: z.string(),
    outcome: z.enum(['clean', 'drifted', 'no_baseline', 'skipped', 'error']),
    changes: z.number().int().meta({ description: 'How many objects differed' }),
    duration_ms: z.number().nullable()
  })).meta({ description: 'The last checks, newest first' })
}).meta({ id: 'EnvironmentDrift' })
