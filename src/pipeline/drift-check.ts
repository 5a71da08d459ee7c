import type { EnvironmentConfig } from '../config/load.js'
import { SYSTEM_ACTOR } from '../domain/index.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { driftCheckDuration } from '../metrics/process-metrics.js'
import { deploymentRunning, getDriftState, recordDriftCheck, saveBaseline, type DriftChange } from '../store/drift.js'
import { appendEnvironmentEvent } from '../store/events.js'
import { withTransaction } from '../store/pool.js'
import type { DeploymentRun } from './deployment-run.js'
import type { PipelineContext } from './pipeline-context.js'
import { applyBegan } from './resume.js'
import { diffFingerprints, takeSchemaFingerprint } from './schema-fingerprint.js'
import { targetUrlFor } from './target-url.js'

export interface DriftCheckResult {
  outcome: 'clean' | 'drifted' | 'no_baseline' | 'skipped' | 'error'
  changes: DriftChange[]
  /** What the fingerprint took on the target, in ms. */
  durationMs: number | null
  /** Set when this check found new (or changed) drift, or found it cleared. */
  notified?: 'drift.detected' | 'drift.resolved'
}

/**
 * One drift check of an environment (SPEC §15): the target's schema fingerprint and migration
 * history against what the last deployment left. New drift (or drift that changed) is one
 * `drift.detected` event naming the objects; drift that cleared is one `drift.resolved`; nothing is
 * reported while a deployment to the environment runs (before or after the fingerprint is taken).
 */
export async function checkDrift (ctx: PipelineContext, environmentName: string): Promise<DriftCheckResult> {
  const environment = ctx.config.environments[environmentName]
  if (environment === undefined) return { outcome: 'skipped', changes: [], durationMs: null }
  const skipped = async (detail: string): Promise<DriftCheckResult> => {
    await recordDriftCheck(ctx.pool, { environment: environmentName, outcome: 'skipped', fingerprint: null, changes: [], durationMs: null, detail })
    return { outcome: 'skipped', changes: [], durationMs: null }
  }
  if (await deploymentRunning(ctx.pool, environmentName)) return await skipped('a deployment to this environment is running')
  const checkStartedAt = new Date()
  const started = performance.now()
  let taken
  try {
    taken = await takeSchemaFingerprint(targetUrlFor(environment, ctx.env), environment)
  } catch (error) {
    const detail = safeErrorMessage(error)
    await recordDriftCheck(ctx.pool, { environment: environmentName, outcome: 'error', fingerprint: null, changes: [], durationMs: null, detail })
    return { outcome: 'error', changes: [], durationMs: null }
  }
  const durationMs = Math.round(performance.now() - started)
  driftCheckDuration.observe({ environment: environmentName }, durationMs / 1000)
  if (await deploymentRunning(ctx.pool, environmentName)) return await skipped('a deployment to this environment started during the check')

  return await withTransaction(ctx.pool, async (db) => {
    const state = await getDriftState(db, environmentName, { forUpdate: true })
    // A deployment ended during the check: its baseline is newer than what was read.
    if (state?.baseline_at != null && state.baseline_at > checkStartedAt) return await skipped('a deployment to this environment ended during the check')
    if (state?.baseline_objects == null) {
      // Nothing deployed since the watch began: what is there now is the baseline.
      await saveBaseline(db, environmentName, { fingerprint: taken.fingerprint, objects: taken.objects, deploymentId: '' })
      await recordDriftCheck(db, { environment: environmentName, outcome: 'no_baseline', fingerprint: taken.fingerprint, changes: [], durationMs, detail: 'baseline taken from this check' })
      return { outcome: 'no_baseline', changes: [], durationMs }
    }
    const changes = diffFingerprints(state.baseline_objects, taken.objects)
    if (changes.length === 0) {
      const resolved = state.state === 'drifted'
      await recordDriftCheck(db, { environment: environmentName, outcome: 'clean', fingerprint: taken.fingerprint, changes, durationMs, detail: null, state: { state: 'clean', driftFingerprint: null, detectedAt: null } })
      if (resolved) await appendEnvironmentEvent(db, { environment: environmentName, type: 'drift.resolved', actor: SYSTEM_ACTOR, data: { fingerprint: taken.fingerprint, baseline_deployment_id: state.baseline_deployment_id } })
      return { outcome: 'clean', changes, durationMs, ...(resolved ? { notified: 'drift.resolved' as const } : {}) }
    }
    const isNew = state.state !== 'drifted' || state.drift_fingerprint !== taken.fingerprint
    await recordDriftCheck(db, {
      environment: environmentName,
      outcome: 'drifted',
      fingerprint: taken.fingerprint,
      changes,
      durationMs,
      detail: null,
      state: { state: 'drifted', driftFingerprint: taken.fingerprint, detectedAt: isNew ? 'now' : 'keep' }
    })
    if (isNew) {
      await appendEnvironmentEvent(db, {
        environment: environmentName,
        type: 'drift.detected',
        actor: SYSTEM_ACTOR,
        data: { changes, fingerprint: taken.fingerprint, baseline_deployment_id: state.baseline_deployment_id }
      })
      ctx.logger.warn({ environment: environmentName, changes: changes.slice(0, 20) }, 'drift detected: the target changed outside the deployer')
    }
    return { outcome: 'drifted', changes, durationMs, ...(isNew ? { notified: 'drift.detected' as const } : {}) }
  })
}

/**
 * After a deployment that began applying (SPEC §15: the fingerprint is taken at the end of every
 * deployment): what it left is the new baseline. Best effort: a failure is logged, and the next
 * check compares with the previous baseline (it may then report this deployment's own change).
 */
export async function takeBaselineAfter (run: DeploymentRun): Promise<void> {
  const environment: EnvironmentConfig = run.environment
  if (environment.drift_check === undefined || run.deployment.dry_run || !applyBegan({ steps: run.recorder.steps })) return
  try {
    const taken = await takeSchemaFingerprint(run.databaseUrl(), environment)
    await saveBaseline(run.ctx.pool, environment.name, { fingerprint: taken.fingerprint, objects: taken.objects, deploymentId: run.deployment.id })
  } catch (error) {
    run.logger.warn({ err: { message: safeErrorMessage(error) } }, 'could not take the schema fingerprint after the deployment (drift watch baseline)')
  }
}
