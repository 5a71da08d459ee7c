import { MigrationFailedError, throwIfStopping } from '../errors/index.js'
import { LockTimeoutError, PlanStaleError } from '../errors/pipeline-errors.js'
import { handlerFor } from '../handlers/index.js'
import type { AppliedMigration, LockedTarget, MigrationFile, MigrationHandler } from '../handlers/types.js'
import { OneInFlight } from '../lib/one-in-flight.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { recordAppliedMigration } from '../store/applied-migrations.js'
import { healthCheckSuggestions } from './recovery-suggestions.js'
import type { BackupRow } from '../store/backups.js'
import { planChecksum } from './build-plan.js'
import { throwIfWindowClosed } from './deployment-window.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRun } from './deployment-run.js'
import type { Ending } from './end-deployment.js'
import { formatSeconds } from './human-log.js'
import { projectDirectoryOf } from './migration-source.js'
import type { ApplyInput } from './operation.js'
import { noPendingReport, successReport } from './report.js'
import { appliedEarlierBy, historyIdFor, remainingOfApprovedPlan, type EarlierApplied } from './resume.js'
import { runBackupStep } from './steps/backup.js'
import { runHealthCheckStep } from './steps/health-check-step.js'
import { restoreOnFailure } from './steps/restore-on-failure.js'

/** What one apply works on, under the environment's migration lock. */
interface UnderLock {
  target: LockedTarget
  /** Applied by this deployment before an interruption: kept, never applied again. */
  earlier: EarlierApplied[]
  toApply: MigrationFile[]
  /** The backup taken right before applying, for the rollback. */
  backup: BackupRow | null
}

/**
 * The apply of `deploy-migrations`, in the order a reader expects: take the environment's
 * migration lock, make sure the plan still holds, back up, apply each migration with its history
 * row, check health, verify, and report. A failed migration or health check restores the backup
 * where `on_failure` says so, then fails the deployment.
 */
export async function applyMigrations (run: DeploymentRun, input: ApplyInput): Promise<Ending> {
  const { ctx, deployment, environment, recorder } = run
  if (deployment.plan === null || deployment.source_snapshot === null) {
    throw new DeploymentFailure({ error: `Deployment ${deployment.id} has no plan for a configured environment; create a new deployment` })
  }
  const handler = handlerFor(environment, await projectDirectoryOf(deployment, environment, ctx.config))
  const lockRequested = performance.now()
  const target = await takeMigrationLock(run, handler)
  const lockWaitMs = performance.now() - lockRequested
  try {
    const { earlier, toApply } = await pendingUnderLock(run, target, input)
    if (earlier.length > 0) await noteResume(run, earlier, toApply.length)
    if (toApply.length === 0 && earlier.length === 0) {
      await recorder.finishStep('deploy', 'passed', 'nothing pending any more: another deployment applied it first')
      const report = noPendingReport(deployment.operation, environment.name, environment.mode)
      return { status: 'succeeded', report, summary: { migrationsApplied: 0, durationMs: run.elapsedMs(), backupId: null, healthy: true } }
    }
    // The backup is taken here, under the lock and right before applying, not at plan time: a
    // backup taken before a long approval wait would, if restored, discard every write since.
    const backup = await runBackupStep(run)
    const work: UnderLock = { target, earlier, toApply, backup }

    await recorder.startStep('deploy', `migration lock held after ${formatSeconds(lockWaitMs)} waiting`)
    const applied = await applyPending(run, work)
    const resumed = earlier.length > 0 ? `, ${earlier.length} applied before an interruption` : ''
    await recorder.finishStep('deploy', 'passed', `${applied.length} applied${resumed}`)

    const healthAfter = await checkHealthAfter(run, handler, work)
    await verifyApplied(run, handler, [...earlier, ...toApply])

    const backupId = backup?.id ?? null
    const migrations = [...earlier, ...applied]
    const report = successReport({
      environment: environment.name,
      mode: environment.mode,
      migrations,
      totalDurationMs: run.elapsedMs(),
      backupId,
      healthCheckBefore: run.healthBefore(),
      healthCheckAfter: healthAfter
    })
    return { status: 'succeeded', report, summary: { migrationsApplied: migrations.length, durationMs: run.elapsedMs(), backupId, healthy: true } }
  } finally {
    await target.release()
  }
}

/** Waits (bounded) for the environment's migration lock; a timeout fails the deploy step naming the holder. */
async function takeMigrationLock (run: DeploymentRun, handler: MigrationHandler): Promise<LockedTarget> {
  try {
    return await handler.lock(run.databaseUrl(), { waitMs: run.environment.migration_lock_wait })
  } catch (error) {
    if (!(error instanceof LockTimeoutError)) throw error
    await run.recorder.finishStep('deploy', 'failed', error.message)
    await run.recorder.log(`✗ ${error.message}`)
    throw new DeploymentFailure({
      error: error.message,
      suggestions: ['Nothing was applied. Wait for the other deployment or migration tool to finish (or stop the session named above), then deploy again'],
      extraResult: { lock_holders: error.details }
    }, error)
  }
}

/** What to apply now: an approved plan's exact migrations if it still holds, else (unfrozen) whatever is pending. */
async function pendingUnderLock (run: DeploymentRun, target: LockedTarget, input: ApplyInput): Promise<Pick<UnderLock, 'earlier' | 'toApply'>> {
  const { deployment, environment, recorder } = run
  const plan = deployment.plan as NonNullable<typeof deployment.plan>
  if (input.frozen) {
    try {
      const { done, remaining } = remainingOfApprovedPlan({ ...deployment, plan }, await target.status(deployment.source_snapshot ?? []))
      return { earlier: done, toApply: remaining }
    } catch (error) {
      if (!(error instanceof PlanStaleError)) throw error
      await recorder.finishStep('deploy', 'failed', error.message)
      await recorder.log(`✗ ${error.message}`)
      throw new DeploymentFailure({
        error: error.message,
        suggestions: [
          'Nothing was applied. Create a new deployment so the current pending set can be reviewed and approved',
          `Compare with GET /environments/${environment.name}/status`
        ],
        extraResult: { stale: error.details }
      }, error)
    }
  }
  const status = await target.status(input.planned?.source ?? [])
  if (planChecksum(environment.name, status.pending) !== (plan.pending_checksum ?? plan.checksum)) {
    await recorder.log(`ℹ Pending set changed while waiting for the lock: ${status.pending.length} to apply now`)
  }
  return { earlier: appliedEarlierBy(deployment.id, status.applied), toApply: status.pending }
}

/**
 * Records a resumed apply: the migrations this deployment applied before it was interrupted
 * (kept, never reapplied) and, for the one that committed on the target just before the worker
 * died, the control-database record it never got.
 */
async function noteResume (run: DeploymentRun, earlier: EarlierApplied[], remaining: number): Promise<void> {
  const { deployment } = run
  for (const migration of earlier) {
    const { name, checksum, durationMs } = migration
    const row = { environment: deployment.environment, name, checksum, durationMs, deploymentId: deployment.id, target: run.fleetTarget }
    await recordAppliedMigration(run.ctx.pool, row)
  }
  const were = `${earlier.length} migration${earlier.length === 1 ? ' was' : 's were'}`
  await run.recorder.log(
    `↻ Resuming: ${were} applied by this deployment before it was interrupted (kept, not reapplied); ${remaining} to apply now`,
    'apply_resumed',
    { applied_before: earlier.map((m) => m.name), remaining }
  )
}

/** Applies through the handler; a failing migration triggers the configured rollback and fails the deployment. */
async function applyPending (run: DeploymentRun, work: UnderLock): Promise<AppliedMigration[]> {
  const { ctx, deployment, environment, recorder } = run
  // Each migration's record (the row for gates and estimates, and its log line, in one statement)
  // lands in the control database while the next migration runs on the target; they stay in order.
  // A record that fails stops the apply one migration later than an awaited one would, which a
  // resumed apply handles like a crash (it records what the target's history shows).
  const records = new OneInFlight()
  try {
    const options = {
      lockTimeoutMs: environment.lock_timeout,
      statementTimeoutMs: environment.statement_timeout,
      historyIdFor: (migration: MigrationFile) => historyIdFor(deployment.id, migration.name),
      allowStatements: environment.policy.allow_statements
    }
    const applied = await work.target.apply(work.toApply, options, {
      // A graceful shutdown stops here, between migrations: the one before has finished and been recorded.
      onMigrationStart: async () => {
        if (ctx.shutdown?.aborted === true) await records.drain()
        throwIfStopping(ctx.shutdown)
        await throwIfWindowClosed(run, async () => { await records.drain() })
      },
      onMigrationApplied: async (migration, durationMs) => {
        const { name, checksum } = migration
        const data = { migration: name, checksum, duration_ms: Math.round(durationMs) }
        const event = recorder.logEvent(`✓ Deploying migration: ${name} (${formatSeconds(durationMs)})`, 'migration_applied', data)
        await records.push(async () => {
          const row = { environment: environment.name, name, checksum, durationMs, deploymentId: deployment.id, target: run.fleetTarget }
          await recordAppliedMigration(ctx.pool, row, event)
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
    await records.drain().catch((drainError: unknown) => {
      run.logger.warn({ err: { message: safeErrorMessage(drainError) } }, 'could not record the last applied migration')
    })
    if (!(error instanceof MigrationFailedError)) throw error
    await recorder.finishStep('deploy', 'failed', `${error.migration}: ${error.databaseMessage}`)
    const data = { migration: error.migration, sqlstate: error.sqlState ?? null }
    await recorder.log(`✗ Deploying migration: ${error.migration} failed: ${error.databaseMessage}`, 'migration_failed', data)
    const outcome = await restoreOnFailure(run, work.backup)
    const restored = outcome.status === 'success'
    throw new DeploymentFailure({
      error: `Migration ${error.migration} failed`,
      failedMigration: error.migration,
      migrationsAppliedBeforeFailure: [...work.earlier.map((m) => m.name), ...error.applied],
      backupId: work.backup?.id ?? null,
      rollback: outcome,
      suggestions: [
        ...(restored ? [`The database was restored to backup ${work.backup?.id ?? ''}: no migration of this deployment remains applied`] : []),
        !restored && error.leftFailedRow
          ? `Migration ${error.migration} ran outside a transaction: changes before the failing statement remain and its history row is marked failed. ` +
            `Repair the database, then POST /environments/${environment.name}/migrations/${error.migration}/resolve ` +
            'with {"as":"rolled_back"} (to retry it) or {"as":"applied"}'
          : `Migration ${error.migration} was rolled back and is not recorded; fix its SQL and deploy again`,
        ...(!restored && error.applied.length > 0
          ? [`${error.applied.length} migration${error.applied.length === 1 ? '' : 's'} before it stayed applied and recorded`]
          : []),
        `Read the full log: GET /deployments/${deployment.id}/log`
      ],
      extraResult: { database_error: error.databaseMessage, sqlstate: error.sqlState ?? null }
    }, error)
  }
}

/** The post-deployment health check; a failure restores the backup where configured, then fails the deployment. */
async function checkHealthAfter (run: DeploymentRun, handler: MigrationHandler, work: UnderLock): Promise<'passed' | 'skipped'> {
  const { environment } = run
  const health = await runHealthCheckStep(run, { when: 'after', label: 'Post-deployment health check', handler, source: run.deployment.source_snapshot ?? [] })
  if (health.outcome !== 'failed') return health.outcome
  const outcome = await restoreOnFailure(run, work.backup)
  const restored = outcome.status === 'success'
  throw new DeploymentFailure({
    error: 'Post-deployment health check failed',
    backupId: work.backup?.id ?? null,
    rollback: outcome,
    suggestions: [
      restored
        ? `The database was restored to backup ${work.backup?.id ?? ''}; find out why the check failed before deploying again`
        : 'The migrations were applied; check the database and the application now',
      ...healthCheckSuggestions(health.result?.details ?? [], environment)
    ],
    extraResult: { health_check_after: 'failed', auto_rollback_triggered: outcome.initiated, details: health.result?.details ?? [] }
  })
}

/** Every migration we applied must now read as applied, with the same checksum, from a fresh connection. */
async function verifyApplied (run: DeploymentRun, handler: MigrationHandler, applied: Array<Pick<MigrationFile, 'name' | 'checksum'>>): Promise<void> {
  const { recorder } = run
  await recorder.startStep('verify')
  const status = await handler.status(run.databaseUrl(), applied)
  const appliedNames = new Map(status.applied.map((entry) => [entry.name, entry.checksum]))
  const missing = applied.filter((m) => appliedNames.get(m.name) !== m.checksum).map((m) => m.name)
  if (missing.length > 0) {
    await recorder.log(`✗ Verification: not recorded as applied: ${missing.join(', ')}`)
    throw new DeploymentFailure({
      error: `Verification failed: ${missing.join(', ')} not recorded as applied`,
      suggestions: ['Inspect the history table of the target before deploying again']
    })
  }
  await recorder.finishStep('verify', 'passed', `${applied.length} recorded as applied`)
  await recorder.log('✓ Verification: All migrations applied')
}
