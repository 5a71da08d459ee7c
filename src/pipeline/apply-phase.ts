import { MigrationFailedError, throwIfStopping } from '../errors/index.js'
import { handlerFor } from '../handlers/index.js'
import type { AppliedMigration, MigrationFile, MigrationHandler, MigrationIdentity } from '../handlers/types.js'
import type { EnvironmentConfig } from '../config/load.js'
import { transitionDeployment, type DeploymentRow } from '../store/deployments.js'
import { planChecksum } from './build-plan.js'
import { recordAppliedMigration } from '../store/applied-migrations.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import { completedBanner, formatSeconds } from './human-log.js'
import type { PipelineContext } from './pipeline-context.js'
import { noPendingReport, successReport } from './report.js'
import { runHealthChecks } from './steps/health-check.js'
import { targetUrlFor } from './target-url.js'
import { PlanStaleError } from '../errors/pipeline-errors.js'
import { appliedEarlierBy, historyIdFor, remainingOfApprovedPlan, type EarlierApplied } from './resume.js'

export interface ApplyPhaseInput {
  /**
   * Frozen (approved) plans apply exactly the planned bytes and fail if the target moved on.
   * Unfrozen ones (unprotected environments) plan again under the lock and apply what is pending then.
   */
  frozen: boolean
  /** The source read by the plan phase in the same job, for unfrozen applies. */
  source?: MigrationFile[]
  healthBefore: string
  startedMs: number
}

/**
 * The apply phase: take the environment's migration lock, make sure the plan still holds, apply
 * each migration with its history row, check health after, verify, and report.
 */
export async function runApplyPhase (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, input: ApplyPhaseInput): Promise<void> {
  const environment = ctx.config.environments[deployment.environment]
  if (environment === undefined || deployment.plan === null || deployment.source_snapshot === null) {
    throw new DeploymentFailure({ error: `Deployment ${deployment.id} has no plan for a configured environment; create a new deployment` })
  }
  const databaseUrl = targetUrlFor(environment, ctx.env)
  const handler = handlerFor(environment)
  let toApply: MigrationFile[] = []
  let applied: AppliedMigration[] = []
  // Applied by this deployment before an interruption (a killed or stopped worker): kept, never reapplied.
  let earlier: EarlierApplied[] = []

  const lockRequested = performance.now()
  const target = await handler.lock(databaseUrl, { waitMs: environment.migration_lock_wait })
  try {
    await recorder.startStep('deploy', `migration lock held after ${formatSeconds(performance.now() - lockRequested)} waiting`)
    if (input.frozen) {
      ({ done: earlier, remaining: toApply } = await checkPlanStillHolds(deployment, target.status.bind(target)))
    } else {
      const status = await target.status(input.source ?? [])
      toApply = status.pending
      earlier = appliedEarlierBy(deployment.id, status.applied)
      if (planChecksum(environment.name, toApply) !== deployment.plan.checksum) {
        await recorder.log(`ℹ Pending set changed while waiting for the lock: ${toApply.length} to apply now`)
      }
    }
    if (earlier.length > 0) await noteResume(ctx, deployment, recorder, earlier, toApply.length)
    if (toApply.length === 0 && earlier.length === 0) {
      await recorder.finishStep('deploy', 'passed', 'nothing pending any more: another deployment applied it first')
      const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report: noPendingReport(deployment.operation, environment.name), steps: recorder.steps })
      if (done !== undefined) await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: 0, durationMs: performance.now() - input.startedMs, backupId: null, healthy: true }), 'banner')
      return
    }
    applied = await target.apply(toApply, { lockTimeoutMs: environment.lock_timeout, statementTimeoutMs: environment.statement_timeout, historyIdFor: (migration) => historyIdFor(deployment.id, migration.name) }, {
      // A graceful shutdown stops here, between migrations: the one before has finished and been recorded.
      onMigrationStart: () => { throwIfStopping(ctx.shutdown) },
      onMigrationApplied: async (migration, durationMs) => {
        await recordAppliedMigration(ctx.pool, { environment: environment.name, name: migration.name, checksum: migration.checksum, durationMs, deploymentId: deployment.id })
        await recorder.log(`✓ Deploying migration: ${migration.name} (${formatSeconds(durationMs)})`, 'migration_applied', { migration: migration.name, checksum: migration.checksum, duration_ms: Math.round(durationMs) })
      }
    })
    await recorder.finishStep('deploy', 'passed', earlier.length > 0 ? `${applied.length} applied, ${earlier.length} applied before an interruption` : `${applied.length} applied`)
  } catch (error) {
    if (error instanceof MigrationFailedError) {
      await recorder.log(`✗ Deploying migration: ${error.migration} failed: ${error.databaseMessage}`, 'migration_failed', { migration: error.migration, sqlstate: error.sqlState ?? null })
      throw new DeploymentFailure({
        error: `Migration ${error.migration} failed`,
        failedMigration: error.migration,
        migrationsAppliedBeforeFailure: [...earlier.map((m) => m.name), ...error.applied],
        suggestions: [
          `Migration ${error.migration} was rolled back and is not recorded; fix its SQL and deploy again`,
          ...(error.applied.length > 0 ? [`${error.applied.length} migration${error.applied.length === 1 ? '' : 's'} before it stayed applied and recorded`] : []),
          `Read the full log: GET /deployments/${deployment.id}/log`
        ],
        extraResult: { database_error: error.databaseMessage, sqlstate: error.sqlState ?? null }
      }, error)
    }
    if (error instanceof PlanStaleError) {
      await recorder.log(`✗ ${error.message}`)
      throw new DeploymentFailure({
        error: error.message,
        suggestions: ['Nothing was applied. Create a new deployment so the current pending set can be reviewed and approved', `Compare with GET /environments/${environment.name}/status`],
        extraResult: { stale: error.details }
      }, error)
    }
    throw error
  } finally {
    await target.release()
  }

  const healthAfter = await checkHealthAfter(deployment, databaseUrl, environment, handler, recorder)
  await verifyApplied(databaseUrl, handler, [...earlier, ...toApply], recorder)

  const report = successReport({ environment: environment.name, migrations: [...earlier, ...applied], totalDurationMs: performance.now() - input.startedMs, backupId: null, healthCheckBefore: input.healthBefore, healthCheckAfter: healthAfter })
  const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps })
  if (done === undefined) return
  await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
  await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: earlier.length + applied.length, durationMs: performance.now() - input.startedMs, backupId: null, healthy: healthAfter !== 'failed' }), 'banner')
}

/**
 * An approved plan applies only if the target's pending set is still exactly the approved one,
 * or — after an interruption — exactly its remaining suffix (see `remainingOfApprovedPlan`);
 * the SQL applied is the approved SQL stored in the plan, never re-read from disk.
 */
async function checkPlanStillHolds (deployment: DeploymentRow, status: LockedStatus): Promise<{ done: EarlierApplied[], remaining: MigrationFile[] }> {
  const plan = deployment.plan as NonNullable<DeploymentRow['plan']>
  const current = await status(deployment.source_snapshot ?? [])
  return remainingOfApprovedPlan({ ...deployment, plan }, current)
}

type LockedStatus = (source: MigrationIdentity[]) => Promise<Awaited<ReturnType<MigrationHandler['status']>>>

/**
 * Records a resumed apply: the migrations this deployment applied before it was interrupted
 * (kept, never reapplied) and, for the one that committed on the target just before the worker
 * died, the control-database record it never got.
 */
async function noteResume (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, earlier: EarlierApplied[], remaining: number): Promise<void> {
  for (const migration of earlier) {
    await recordAppliedMigration(ctx.pool, { environment: deployment.environment, name: migration.name, checksum: migration.checksum, durationMs: migration.durationMs, deploymentId: deployment.id })
  }
  await recorder.log(`↻ Resuming: ${earlier.length} migration${earlier.length === 1 ? ' was' : 's were'} applied by this deployment before it was interrupted (kept, not reapplied); ${remaining} to apply now`, 'apply_resumed', { applied_before: earlier.map((m) => m.name), remaining })
}

async function checkHealthAfter (deployment: DeploymentRow, databaseUrl: string, environment: EnvironmentConfig, handler: MigrationHandler, recorder: DeploymentRecorder): Promise<string> {
  if (deployment.skip_health_check) {
    await recorder.finishStep('health_check_after', 'skipped', 'skip_health_check was requested')
    return 'skipped'
  }
  await recorder.startStep('health_check_after')
  const result = await runHealthChecks({ databaseUrl, environment, handler, source: deployment.source_snapshot ?? [] })
  if (!result.passed) {
    await recorder.log(`✗ Post-deployment health check: failed (${result.details.filter((d) => !d.passed).map((d) => `${d.check}: ${d.message}`).join('; ')})`)
    throw new DeploymentFailure({
      error: 'Post-deployment health check failed',
      suggestions: ['The migrations were applied; check the database and the application now', `Run GET /environments/${environment.name}/status`],
      extraResult: { health_check_after: 'failed', auto_rollback_triggered: false, details: result.details }
    })
  }
  await recorder.finishStep('health_check_after', 'passed', result.details.map((d) => `${d.check}: ${d.message}`).join('; '))
  await recorder.log('✓ Post-deployment health check: passed')
  return 'passed'
}

/** Every migration we applied must now read as applied, with the same checksum, from a fresh connection. */
async function verifyApplied (databaseUrl: string, handler: ReturnType<typeof handlerFor>, applied: MigrationIdentity[], recorder: DeploymentRecorder): Promise<void> {
  await recorder.startStep('verify')
  const status = await handler.status(databaseUrl, applied)
  const appliedNames = new Map(status.applied.map((entry) => [entry.name, entry.checksum]))
  const missing = applied.filter((m) => appliedNames.get(m.name) !== m.checksum).map((m) => m.name)
  if (missing.length > 0) {
    await recorder.log(`✗ Verification: not recorded as applied: ${missing.join(', ')}`)
    throw new DeploymentFailure({ error: `Verification failed: ${missing.join(', ')} not recorded as applied`, suggestions: ['Inspect the history table of the target before deploying again'] })
  }
  await recorder.finishStep('verify', 'passed', `${applied.length} recorded as applied`)
  await recorder.log('✓ Verification: All migrations applied')
}
