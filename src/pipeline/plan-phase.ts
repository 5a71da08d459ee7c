import type { EnvironmentConfig } from '../config/load.js'
import { handlerFor } from '../handlers/index.js'
import type { MigrationFile, MigrationHandler, MigrationStatus } from '../handlers/types.js'
import { transitionDeployment } from '../store/deployments.js'
import { type DeploymentRow } from '../domain/index.js'
import { runApplyPhase } from './apply-phase.js'
import { buildPlan } from './build-plan.js'
import { resetDatabase } from '../backup/index.js'
import { analyzePlan } from './analyze-plan.js'
import { measuredDurations } from '../store/applied-migrations.js'
import { DeploymentFailure } from './deployment-failure.js'
import { scheduleExpiry } from './expire-deployment.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import { completedBanner } from './human-log.js'
import { runPreamble } from './steps/preamble.js'
import { autoApprove } from './auto-approve.js'
import { runRestorePlanPhase } from './restore-phase.js'
import type { PipelineContext } from './pipeline-context.js'
import { loadMigrationSource, projectDirectoryOf } from './migration-source.js'
import { noPendingReport, previewReport } from './report.js'
import { runHealthChecks } from './steps/health-check.js'
import { enforcePromotionGate } from './steps/promotion-gate.js'
import { targetUrlFor } from './target-url.js'
import { applyBegan } from './resume.js'

/**
 * The plan phase: validate, check health, find what is pending, then either finish (dry run,
 * nothing pending), stop at the approval gate (protected), or go straight on to apply.
 */
export async function runPlanPhase (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder): Promise<void> {
  const startedMs = performance.now()
  if (deployment.operation === 'restore-backup') {
    await runRestorePlanPhase(ctx, deployment, recorder)
    return
  }
  const { environment, loaded: { handler, source } } = await runPreamble(ctx, deployment, recorder, async (environment) => {
    const handler = handlerFor(environment, await projectDirectoryOf(deployment, environment, ctx.config))
    const files = await loadMigrationSource(deployment, environment, ctx.config, handler)
    return { value: { handler, source: files }, detail: `tool ${environment.migration_tool}, ${files.length} migrations in the source` }
  })

  const databaseUrl = targetUrlFor(environment, ctx.env)
  const health = await checkHealthBefore(deployment, environment, databaseUrl, handler, source, recorder)

  await recorder.startStep('check_pending')
  let status = health.status ?? await handler.status(databaseUrl, source)
  if (status.drifted.length > 0 && environment.mode === 'dev' && environment.reset_on_drift) {
    status = await resetDriftedDevDatabase(deployment, environment, databaseUrl, handler, source, status, recorder)
  }
  assertNoFailedMigrations(environment, status)
  assertNoDrift(environment, status)
  const measured = await measuredDurations(ctx.pool, status.pending.map((m) => m.checksum), environment.name)
  const plan = await analyzePlan(buildPlan(environment.name, status.pending, measured), status.pending, environment, ctx.logger)
  const snapshot = source.map((file) => ({ name: file.name, checksum: file.checksum }))
  await transitionDeployment(ctx.pool, deployment.id, ['running'], { plan, source_snapshot: snapshot })
  await recorder.log(`✓ Pending migrations: ${plan.pending_migrations} found`)
  await enforcePromotionGate(ctx.pool, deployment, environment, plan, recorder)
  await recorder.finishStep('check_pending', 'passed', `${plan.pending_migrations} pending of ${source.length}`)
  if (handler.preview !== undefined && plan.pending_migrations > 0) {
    await recorder.log(`Preview by ${environment.migration_tool} (command.preview):`)
    await handler.preview(databaseUrl, async (line) => { await recorder.log(`  │ ${line}`, 'tool_output') })
  }

  if (deployment.dry_run) {
    await recorder.finishStep('preview', 'passed', 'dry run: nothing applied')
    await recorder.log(`✓ Preview: ${plan.pending_migrations} migration${plan.pending_migrations === 1 ? '' : 's'} would be applied (no changes made)`)
    await finishWithoutApplying(ctx, deployment, recorder, previewReport(environment.name, plan.migrations, environment.mode), startedMs)
    return
  }
  // After an interrupted apply, "nothing pending" may be this deployment's own work: apply reports it.
  if (plan.pending_migrations === 0 && !applyBegan(deployment)) {
    await finishWithoutApplying(ctx, deployment, recorder, noPendingReport(deployment.operation, environment.name, environment.mode), startedMs)
    return
  }

  if (environment.protected && environment.mode === 'deploy') {
    // Reviewers must see what safety steps the requester turned off before they approve.
    if (deployment.skip_backup) await recorder.log('⚠ skip_backup was requested: no backup will be taken before applying', 'safety_override', { skip_backup: true })
    if (deployment.skip_health_check) await recorder.log('⚠ skip_health_check was requested: no health checks before or after applying', 'safety_override', { skip_health_check: true })
    if (!await autoApprove(ctx, deployment, environment, recorder, plan.checksum)) {
      await waitForApproval(ctx, deployment, environment, recorder, plan.checksum)
      return
    }
    await runApplyPhase(ctx, { ...deployment, plan, source_snapshot: snapshot }, recorder, { source, healthBefore: health.summary, startedMs, frozen: true })
    return
  }
  await recorder.finishStep('approval', 'skipped', environment.protected ? 'dev mode skips approval' : `${environment.name} is not protected`)
  await runApplyPhase(ctx, { ...deployment, plan, source_snapshot: snapshot }, recorder, { source, healthBefore: health.summary, startedMs, frozen: false })
}

/**
 * dev mode with `reset_on_drift`: empty the database and plan every migration again. A dry run
 * only says it would.
 */
async function resetDriftedDevDatabase (deployment: DeploymentRow, environment: EnvironmentConfig, databaseUrl: string, handler: MigrationHandler, source: MigrationFile[], status: MigrationStatus<MigrationFile>, recorder: DeploymentRecorder): Promise<MigrationStatus<MigrationFile>> {
  const drift = status.drifted.map((d) => d.name).join(', ')
  if (deployment.dry_run) {
    await recorder.log(`⚠ Drift in ${environment.name} (${drift}): a real deployment would reset the database (reset_on_drift) and reapply every migration`)
    return { ...status, pending: source, applied: [], failed: [], drifted: [] }
  }
  await recorder.log(`⚠ Drift in ${environment.name} (${drift}): resetting the database and reapplying every migration (dev mode, reset_on_drift)`, 'database_reset', { drifted: status.drifted })
  await resetDatabase(databaseUrl)
  return await handler.status(databaseUrl, source)
}

function assertNoFailedMigrations (environment: EnvironmentConfig, status: MigrationStatus<MigrationFile>): void {
  if (status.failed.length === 0) return
  const names = status.failed.map((entry) => entry.name)
  throw new DeploymentFailure({
    error: `Migration ${names.join(', ')} failed in an earlier deployment and is not resolved`,
    failedMigration: names[0] ?? null,
    suggestions: [`Fix the database by hand, then mark it with POST /environments/${environment.name}/migrations/${names[0] ?? ''}/resolve {"as":"applied"} or {"as":"rolled_back"}`]
  })
}

/** Deploy mode never applies on top of drift: an applied migration whose file changed or vanished. */
function assertNoDrift (environment: EnvironmentConfig, status: MigrationStatus<MigrationFile>): void {
  if (status.drifted.length === 0) return
  const drift = status.drifted.map((d) => `${d.name} (${d.reason === 'checksum_changed' ? 'edited after it was applied' : 'applied but missing from the source'})`)
  throw new DeploymentFailure({
    error: `Drift detected: ${drift.join(', ')}`,
    suggestions: [
      'Restore the applied migration files exactly as they were applied (compare checksums with GET /environments/' + environment.name + '/status), then deploy again',
      ...(environment.mode === 'dev' ? ['In dev, set reset_on_drift: true on the environment to reset the database and reapply every migration'] : [])
    ],
    extraResult: { drift: status.drifted }
  })
}

async function checkHealthBefore (deployment: DeploymentRow, environment: EnvironmentConfig, databaseUrl: string, handler: MigrationHandler, source: MigrationFile[], recorder: DeploymentRecorder): Promise<{ summary: string, status?: MigrationStatus<MigrationFile> }> {
  if (deployment.skip_health_check) {
    await recorder.finishStep('health_check_before', 'skipped', 'skip_health_check was requested')
    await recorder.log('⚠ Pre-deployment health check: skipped (skip_health_check)')
    return { summary: 'skipped' }
  }
  await recorder.startStep('health_check_before')
  const result = await runHealthChecks({ databaseUrl, environment, handler, source, allowDrift: environment.mode === 'dev' && environment.reset_on_drift })
  if (!result.passed) {
    await recorder.log(`✗ Pre-deployment health check: failed (${result.details.filter((d) => !d.passed).map((d) => `${d.check}: ${d.message}`).join('; ')})`)
    throw new DeploymentFailure({
      error: 'Pre-deployment health check failed',
      suggestions: ['Check that the database is running and reachable from the worker, then deploy again', `Run GET /environments/${environment.name}/status to see the database's state`],
      extraResult: { health_check: 'failed', details: result.details }
    })
  }
  await recorder.finishStep('health_check_before', 'passed', result.details.map((d) => `${d.check}: ${d.message}`).join('; '))
  await recorder.log('✓ Pre-deployment health check: passed')
  // The status was read against this same source, so check_pending can use it.
  return { summary: 'passed', ...(result.status === undefined ? {} : { status: result.status as MigrationStatus<MigrationFile> }) }
}

async function waitForApproval (ctx: PipelineContext, deployment: DeploymentRow, environment: EnvironmentConfig, recorder: DeploymentRecorder, checksum: string): Promise<void> {
  const required = environment.approval.required_approvals
  const expiresAt = new Date(Date.now() + environment.approval.expires_after)
  await recorder.startStep('approval', `waiting for ${required} approval${required === 1 ? '' : 's'} (roles: ${environment.approval.roles.join(', ')})`)
  const moved = await transitionDeployment(ctx.pool, deployment.id, ['running'], {
    status: 'pending_approval',
    phase: 'apply',
    approvals_required: required,
    expires_at: expiresAt,
    steps: recorder.steps
  })
  if (moved === undefined) return
  await recorder.event('status_changed', { from: 'running', to: 'pending_approval', plan_checksum: checksum })
  await scheduleExpiry(ctx, deployment.id, expiresAt)
  await recorder.log(`⏸ Waiting for approval: ${required} required from ${environment.approval.roles.join(' or ')} (plan ${checksum}), expires ${expiresAt.toISOString()}`)
}

async function finishWithoutApplying (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, report: Record<string, unknown>, startedMs: number): Promise<void> {
  const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps })
  if (done === undefined) return
  await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
  await recorder.log(completedBanner({ environment: deployment.environment, migrationsApplied: 0, durationMs: performance.now() - startedMs, backupId: null, healthy: true }), 'banner')
}
