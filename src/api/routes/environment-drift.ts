import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { EnvironmentConfig } from '../../config/load.js'
import { environmentOrThrow } from '../../pipeline/environment-actions.js'
import { authErrors, errorBodySchema } from '../../schemas/common.js'
import { environmentDriftSchema, type driftWatchSchema } from '../../schemas/drift.js'
import { getDriftState, listDriftChecks } from '../../store/drift.js'
import type { Queryable } from '../../store/pool.js'

const READ_ROLES = ['viewer', 'deployer', 'approver'] as const
/** Checks listed on the page: enough to see a pattern, little to read. */
const RECENT_CHECKS = 10

/** `drift_watch` as GET /environments/:name/status and /drift show it; null without `drift_check`. */
export async function driftWatchOf (db: Queryable, environment: Pick<EnvironmentConfig, 'name' | 'drift_check'>): Promise<z.infer<typeof driftWatchSchema>> {
  if (environment.drift_check === undefined) return null
  const drift = await getDriftState(db, environment.name)
  return {
    state: drift?.state ?? 'unknown',
    detected_at: drift?.detected_at?.toISOString() ?? null,
    checked_at: drift?.checked_at?.toISOString() ?? null,
    changes: drift?.state === 'drifted' ? drift.changes : [],
    // '' marks a baseline taken by the watch's first check rather than left by a deployment.
    baseline_deployment_id: drift?.baseline_deployment_id === '' ? null : drift?.baseline_deployment_id ?? null
  }
}

/**
 * `GET /environments/:name/drift` (SPEC §15): the drift watch's state and last checks, from the
 * control database only, so the review page shows it even while the target is unreachable.
 */
const environmentDriftRoute: FastifyPluginAsyncZod = async (app) => {
  const { pool, config } = app.services
  app.get('/environments/:name/drift', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: {
      operationId: 'getEnvironmentDrift',
      tags: ['environments'],
      summary: 'The drift watch of an environment: drifted or clean, the objects that changed, the last checks',
      params: z.object({ name: z.string().min(1).max(100).meta({ example: 'production' }) }),
      response: { 200: environmentDriftSchema, 404: errorBodySchema, ...authErrors }
    }
  }, async (request) => {
    const environment = environmentOrThrow(config, request.params.name)
    const checks = environment.drift_check === undefined ? [] : await listDriftChecks(pool, environment.name, RECENT_CHECKS)
    return {
      environment: environment.name,
      every_seconds: environment.drift_check === undefined ? null : environment.drift_check.every / 1000,
      drift_watch: await driftWatchOf(pool, environment),
      checks: checks.map((check) => ({
        checked_at: check.checked_at.toISOString(),
        outcome: check.outcome as 'clean' | 'drifted' | 'no_baseline' | 'skipped' | 'error',
        changes: check.changes.length,
        duration_ms: check.duration_ms
      }))
    }
  })
}

export default environmentDriftRoute
