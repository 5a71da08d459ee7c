import { MigrationFailedError, throwIfStopping } from '../errors/index.js'
import { handlerFor } from '../handlers/index.js'
import type { AppliedMigration, LockedTarget, MigrationFile, MigrationHandler } from '../handlers/types.js'
import type { EnvironmentConfig } from '../config/load.js'
import { transitionDeployment } from '../store/deployments.js'
import { type DeploymentRow } from '../domain/index.js'
import { planChecksum } from './build-plan.js'
import { recordAppliedMigration } from '../store/applied-migrations.js'
import { OneInFlight } from '../lib/one-in-flight.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import { completedBanner, formatSeconds } from './human-log.js'
import type { PipelineContext } from './pipeline-context.js'
import { noPendingReport, successReport } from './report.js'
import { runHealthChecks } from './steps/health-check.js'
import { runBackupStep } from './steps/backup.js'
import { restoreOnFailure, type RollbackOutcome } from './steps/restore-on-failure.js'
import type { BackupRow } from '../store/backups.js'
import { targetUrlFor } from './target-url.js'
import { projectDirectoryOf } from './migration-source.js'
import { LockTimeoutError, PlanStaleError } from '../errors/pipeline-errors.js'
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
  const handler = handlerFor(environment, await projectDirectoryOf(deployment, environment, ctx.config))

  const lockRequested = performance.now()
  const target = await takeMigrationLock(handler, databaseUrl, environment, recorder)
  const lockWaitMs = performance.now() - lockRequested
  try {
    const { earlier, toApply } = await pendingUnderLock(deployment, environment, target, recorder, input)
    if (earlier.length > 0) await noteResume(ctx, deployment, recorder, earlier, toApply.length)
    if (toApply.length === 0 && earlier.length === 0) {
      await recorder.finishStep('deploy', 'passed', 'nothing pending any more: another deployment applied it first')
      const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report: noPendingReport(deployment.operation, environment.name, environment.mode), steps: recorder.steps })
      if (done === undefined) return
      await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
      await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: 0, durationMs: performance.now() - input.startedMs, backupId: null, healthy: true }), 'banner')
      return
    }
    // The backup is taken here, under the lock and right before applying, not at plan time: a
    // backup taken before a long approval wait would, if restored, discard every write since.
    const backup = await runBackupStep(ctx.pool, ctx.config, deployment, environment, databaseUrl, recorder)
    const rollback = async (): Promise<RollbackOutcome> => await restoreOnFailure(backup, environment, databaseUrl, recorder)

    await recorder.startStep('deploy', `migration lock held after ${formatSeconds(lockWaitMs)} waiting`)
    const applied = await applyMigrations(ctx, deployment, environment, target, toApply, recorder, backup, rollback, earlier)
    await recorder.finishStep('deploy', 'passed', earlier.length > 0 ? `${applied.length} applied, ${earlier.length} applied before an interruption` : `${applied.length} applied`)

    const healthAfter = await checkHealthAfter(deployment, databaseUrl, environment, handler, recorder, backup, rollback)
    await verifyApplied(databaseUrl, handler, [...earlier, ...toApply], recorder)

    const backupId = backup?.id ?? null
    const report = successReport({ environment: environment.name, mode: environment.mode, migrations: [...earlier, ...applied], totalDurationMs: performance.now() - input.startedMs, backupId, healthCheckBefore: input.healthBefore, healthCheckAfter: healthAfter })
    const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps })
    if (done === undefined) return
    await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
    await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: earlier.length + applied.length, durationMs: performance.now() - input.startedMs, backupId, healthy: healthAfter !== 'failed' }), 'banner')
  } finally {
    await target.release()
  }
}

/** What to apply now: an approved plan's exact migrations if it still holds, else (unfrozen) whatever is pending. */
async function pendingUnderLock (deployment: DeploymentRow, environment: EnvironmentConfig, target: LockedTarget, recorder: DeploymentRecorder, input: ApplyPhaseInput): Promise<{ earlier: EarlierApplied[], toApply: MigrationFile[] }> {
  if (input.frozen) {
    try {
      const plan = deployment.plan as NonNullable<DeploymentRow['plan']>
      const { done, remaining } = remainingOfApprovedPlan({ ...deployment, plan }, await target.status(deployment.source_snapshot ?? []))
      return { earlier: done, toApply: remaining }
    } catch (error) {
      if (!(error instanceof PlanStaleError)) throw error
      await recorder.finishStep('deploy', 'failed', error.message)
      await recorder.log(`✗ ${error.message}`)
      throw new DeploymentFailure({
        error: error.message,
        suggestions: ['Nothing was applied. Create a new deployment so the current pending set can be reviewed and approved', `Compare with GET /environments/${environment.name}/status`],
        extraResult: { stale: error.details }
      }, error)
    }
  }
  const status = await target.status(input.source ?? [])
  if (planChecksum(environment.name, status.pending) !== deployment.plan?.checksum) {
    await recorder.log(`ℹ Pending set changed while waiting for the lock: ${status.pending.length} to apply now`)
  }
  return { earlier: appliedEarlierBy(deployment.id, status.applied), toApply: status.pending }
}

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

/** Applies through the handler; a failing migration triggers the configured rollback and fails the deployment. */
async function applyMigrations (ctx: PipelineContext, deployment: DeploymentRow, environment: EnvironmentConfig, target: LockedTarget, toApply: MigrationFile[], recorder: DeploymentRecorder, backup: BackupRow | null, rollback: () => Promise<RollbackOutcome>, earlier: EarlierApplied[]): Promise<AppliedMigration[]> {
  // Each migration's record (the row for gates and estimates, and its log line, in one statement)
  // lands in the control database while the next migration runs on the target; they stay in order.
  // A record that fails stops the apply one migration later than an awaited one would, which a
  // resumed apply handles like a crash (it records what the target's history shows).
  const records = new OneInFlight()
  try {
    const applied = await target.apply(toApply, { lockTimeoutMs: environment.lock_timeout, statementTimeoutMs: environment.statement_timeout, historyIdFor: (migration) => historyIdFor(deployment.id, migration.name) }, {
      // A graceful shutdown stops here, between migrations: the one before has finished and been recorded.
      onMigrationStart: async () => {
        if (ctx.shutdown?.aborted === true) await records.drain()
        throwIfStopping(ctx.shutdown)
      },
      onMigrationApplied: async (migration, durationMs) => {
        const event = recorder.logEvent(`✓ Deploying migration: ${migration.name} (${formatSeconds(durationMs)})`, 'migration_applied', { migration: migration.name, checksum: migration.checksum, duration_ms: Math.round(durationMs) })
        await records.push(async () => {
          await recordAppliedMigration(ctx.pool, { environment: environment.name, name: migration.name, checksum: migration.checksum, durationMs, deploymentId: deployment.id }, event)
        })
      },
      // An external tool's output (command handler), line by line, as it runs.
      onOutput: async (line) => { await recorder.log(`  │ ${line}`, 'tool_output') }
    })
    await records.drain()
    return applied
  } catch (error) {
    // The record of the last migration applied lands before anything else is written (or, if the
    // control database failed, before the failure is reported).
    await records.drain().catch((drainError: unknown) => { ctx.logger.warn({ deployment_id: deployment.id, err: { message: safeErrorMessage(drainError) } }, 'could not record the last applied migration') })
    if (!(error instanceof MigrationFailedError)) throw error
    await recorder.finishStep('deploy', 'failed', `${error.migration}: ${error.databaseMessage}`)
    await recorder.log(`✗ Deploying migration: ${error.migration} failed: ${error.databaseMessage}`, 'migration_failed', { migration: error.migration, sqlstate: error.sqlState ?? null })
    const outcome = await rollback()
    const restored = outcome.rollback_status === 'succeeded'
    throw new DeploymentFailure({
      error: `Migration ${error.migration} failed`,
      failedMigration: error.migration,
      migrationsAppliedBeforeFailure: [...earlier.map((m) => m.name), ...error.applied],
      backupId: backup?.id ?? null,
      rollbackInitiated: outcome.rollback_initiated,
      rollbackStatus: outcome.rollback_status,
      suggestions: [
        ...(restored ? [`The database was restored to backup ${backup?.id ?? ''}: no migration of this deployment remains applied`] : []),
        !restored && error.leftFailedRow
          ? `Migration ${error.migration} ran outside a transaction: changes before the failing statement remain and its history row is marked failed. Repair the database, then POST /environments/${environment.name}/migrations/${error.migration}/resolve with {"as":"rolled_back"} (to retry it) or {"as":"applied"}`
          : `Migration ${error.migration} was rolled back and is not recorded; fix its SQL and deploy again`,
        ...(!restored && error.applied.length > 0 ? [`${error.applied.length} migration${error.applied.length === 1 ? '' : 's'} before it stayed applied and recorded`] : []),
        `Read the full log: GET /deployments/${deployment.id}/log`
      ],
      extraResult: { database_error: error.databaseMessage, sqlstate: error.sqlState ?? null }
    }, error)
  }
}

/** Waits (bounded) for the environment's migration lock; a timeout fails the deploy step naming the holder. */
async function takeMigrationLock (handler: MigrationHandler, databaseUrl: string, environment: EnvironmentConfig, recorder: DeploymentRecorder): Promise<LockedTarget> {
  try {
    return await handler.lock(databaseUrl, { waitMs: environment.migration_lock_wait })
  } catch (error) {
    if (!(error instanceof LockTimeoutError)) throw error
    await recorder.finishStep('deploy', 'failed', error.message)
    await recorder.log(`✗ ${error.message}`)
    throw new DeploymentFailure({
      error: error.message,
      suggestions: ['Nothing was applied. Wait for the other deployment or migration tool to finish (or stop the session named above), then deploy again'],
      extraResult: { lock_holders: error.details }
    }, error)
  }
}


async function checkHealthAfter (deployment: DeploymentRow, databaseUrl: string, environment: EnvironmentConfig, handler: MigrationHandler, recorder: DeploymentRecorder, backup: BackupRow | null, rollback: () => Promise<RollbackOutcome>): Promise<string> {
  if (deployment.skip_health_check) {
    await recorder.finishStep('health_check_after', 'skipped', 'skip_health_check was requested')
    return 'skipped'
  }
  await recorder.startStep('health_check_after')
  const result = await runHealthChecks({ databaseUrl, environment, handler, source: deployment.source_snapshot ?? [] })
  if (result.passed) {
    await recorder.finishStep('health_check_after', 'passed', result.details.map((d) => `${d.check}: ${d.message}`).join('; '))
    await recorder.log('✓ Post-deployment health check: passed')
    return 'passed'
  }
  const failures = result.details.filter((d) => !d.passed).map((d) => `${d.check}: ${d.message}`).join('; ')
  await recorder.finishStep('health_check_after', 'failed', failures)
  await recorder.log(`✗ Post-deployment health check: failed (${failures})`)
  const outcome = await rollback()
  const restored = outcome.rollback_status === 'succeeded'
  throw new DeploymentFailure({
    error: 'Post-deployment health check failed',
    backupId: backup?.id ?? null,
    rollbackInitiated: outcome.rollback_initiated,
    rollbackStatus: outcome.rollback_status,
    suggestions: restored
      ? [`The database was restored to backup ${backup?.id ?? ''}; find out why the check failed before deploying again`, `Run GET /environments/${environment.name}/status`]
      : ['The migrations were applied; check the database and the application now', `Run GET /environments/${environment.name}/status`],
    extraResult: { health_check_after: 'failed', auto_rollback_triggered: outcome.rollback_initiated, details: result.details }
  })
}

/** Every migration we applied must now read as applied, with the same checksum, from a fresh connection. */
async function verifyApplied (databaseUrl: string, handler: ReturnType<typeof handlerFor>, applied: Array<Pick<MigrationFile, 'name' | 'checksum'>>, recorder: DeploymentRecorder): Promise<void> {
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
