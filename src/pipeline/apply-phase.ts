import { MigrationFailedError } from '../errors/index.js'
import { handlerFor } from '../handlers/index.js'
import type { AppliedMigration, MigrationFile, MigrationHandler } from '../handlers/types.js'
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

  const lockRequested = performance.now()
  const target = await handler.lock(databaseUrl, { waitMs: environment.migration_lock_wait })
  try {
    await recorder.startStep('deploy', `migration lock held after ${formatSeconds(performance.now() - lockRequested)} waiting`)
    if (input.frozen) {
      toApply = await checkPlanStillHolds(deployment, target.status.bind(target))
    } else {
      const status = await target.status(input.source ?? [])
      toApply = status.pending
      if (planChecksum(environment.name, toApply) !== deployment.plan.checksum) {
        await recorder.log(`ℹ Pending set changed while waiting for the lock: ${toApply.length} to apply now`)
      }
    }
    if (toApply.length === 0) {
      await recorder.finishStep('deploy', 'passed', 'nothing pending any more: another deployment applied it first')
      const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report: noPendingReport(deployment.operation, environment.name), steps: recorder.steps })
      if (done === undefined) return
      await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
      await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: 0, durationMs: performance.now() - input.startedMs, backupId: null, healthy: true }), 'banner')
      return
    }
    applied = await target.apply(toApply, { lockTimeoutMs: environment.lock_timeout, statementTimeoutMs: environment.statement_timeout }, {
      onMigrationApplied: async (migration, durationMs) => {
        await recordAppliedMigration(ctx.pool, { environment: environment.name, name: migration.name, checksum: migration.checksum, durationMs, deploymentId: deployment.id })
        await recorder.log(`✓ Deploying migration: ${migration.name} (${formatSeconds(durationMs)})`, 'migration_applied', { migration: migration.name, checksum: migration.checksum, duration_ms: Math.round(durationMs) })
      }
    })
    await recorder.finishStep('deploy', 'passed', `${applied.length} applied`)
  } catch (error) {
    if (error instanceof MigrationFailedError) {
      await recorder.log(`✗ Deploying migration: ${error.migration} failed: ${error.databaseMessage}`, 'migration_failed', { migration: error.migration, sqlstate: error.sqlState ?? null })
      throw new DeploymentFailure({
        error: `Migration ${error.migration} failed`,
        failedMigration: error.migration,
        migrationsAppliedBeforeFailure: error.applied,
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
  await verifyApplied(databaseUrl, handler, toApply, recorder)

  const report = successReport({ environment: environment.name, migrations: applied, totalDurationMs: performance.now() - input.startedMs, backupId: null, healthCheckBefore: input.healthBefore, healthCheckAfter: healthAfter })
  const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps })
  if (done === undefined) return
  await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
  await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: applied.length, durationMs: performance.now() - input.startedMs, backupId: null, healthy: healthAfter !== 'failed' }), 'banner')
}

/**
 * An approved plan applies only if the target's pending set is still exactly the approved one;
 * the SQL applied is the approved SQL stored in the plan, never re-read from disk.
 */
async function checkPlanStillHolds (deployment: DeploymentRow, status: (source: Array<{ name: string, checksum: string }>) => Promise<{ pending: Array<{ name: string, checksum: string }>, failed: Array<{ name: string }> }>): Promise<MigrationFile[]> {
  const plan = deployment.plan as NonNullable<DeploymentRow['plan']>
  const current = await status(deployment.source_snapshot ?? [])
  const nowChecksum = planChecksum(deployment.environment, current.pending)
  if (nowChecksum !== plan.checksum || current.failed.length > 0) {
    const planned = plan.migrations.map((m) => m.name)
    const pendingNow = current.pending.map((m) => m.name)
    throw new PlanStaleError(
      `plan is stale: the target changed since the plan was approved (planned ${planned.length} pending, now ${pendingNow.length}${current.failed.length > 0 ? `, failed: ${current.failed.map((f) => f.name).join(', ')}` : ''}); nothing was applied`,
      { planned, pending_now: pendingNow, approved_checksum: plan.checksum, current_checksum: nowChecksum }
    )
  }
  return plan.migrations.map((m) => ({ name: m.name, sql: m.sql, checksum: m.checksum }))
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
async function verifyApplied (databaseUrl: string, handler: ReturnType<typeof handlerFor>, applied: MigrationFile[], recorder: DeploymentRecorder): Promise<void> {
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
