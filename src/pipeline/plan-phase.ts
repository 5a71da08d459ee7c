import type { EnvironmentConfig } from '../config/load.js'
import { handlerFor } from '../handlers/index.js'
import type { MigrationFile, MigrationHandler, MigrationStatus } from '../handlers/types.js'
import { transitionDeployment, type DeploymentRow } from '../store/deployments.js'
import { runApplyPhase } from './apply-phase.js'
import { buildPlan } from './build-plan.js'
import { measuredDurations } from '../store/applied-migrations.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import { completedBanner, modeDescription, startBanner } from './human-log.js'
import type { PipelineContext } from './pipeline-context.js'
import { loadMigrationSource } from './migration-source.js'
import { noPendingReport, previewReport } from './report.js'
import { runHealthChecks } from './steps/health-check.js'
import { targetUrlFor } from './target-url.js'
import { applyBegan } from './resume.js'

/**
 * The plan phase: validate, check health, find what is pending, then either finish (dry run,
 * nothing pending), stop at the approval gate (protected), or go straight on to apply.
 */
export async function runPlanPhase (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder): Promise<void> {
  const startedMs = performance.now()
  const environment = ctx.config.environments[deployment.environment]
  if (environment === undefined) {
    await recorder.startStep('validate_environment')
    throw new DeploymentFailure({
      error: `Unknown environment ${deployment.environment}`,
      suggestions: [`Configure it in ${ctx.config.source} or deploy to one of: ${Object.keys(ctx.config.environments).join(', ')}`]
    })
  }
  await recorder.log(startBanner(environment), 'banner')

  await recorder.startStep('load_configuration')
  const handler = handlerFor(environment)
  const source = await loadMigrationSource(deployment, environment, ctx.config, handler)
  await recorder.finishStep('load_configuration', 'passed', `tool ${environment.migration_tool}, ${source.length} migrations in the source`)
  await recorder.log('✓ Configuration loaded')
  await recorder.finishStep('validate_environment', 'passed', environment.name)
  await recorder.log(`✓ Environment validated: ${environment.name}`)
  await recorder.finishStep('determine_mode', 'passed', modeDescription(environment))

  const databaseUrl = targetUrlFor(environment, ctx.env)
  const health = await checkHealthBefore(deployment, environment, databaseUrl, handler, source, recorder)

  await recorder.startStep('check_pending')
  const status = health.status ?? await handler.status(databaseUrl, source)
  assertNoFailedMigrations(environment, status)
  assertNoDrift(environment, status)
  const measured = await measuredDurations(ctx.pool, status.pending.map((m) => m.checksum), environment.name)
  const plan = buildPlan(environment.name, status.pending, measured)
  const snapshot = source.map((file) => ({ name: file.name, checksum: file.checksum }))
  await transitionDeployment(ctx.pool, deployment.id, ['running'], { plan, source_snapshot: snapshot })
  await recorder.finishStep('check_pending', 'passed', `${plan.pending_migrations} pending of ${source.length}`)
  await recorder.log(`✓ Pending migrations: ${plan.pending_migrations} found`)

  if (deployment.dry_run) {
    await recorder.finishStep('preview', 'passed', 'dry run: nothing applied')
    await recorder.log(`✓ Preview: ${plan.pending_migrations} migration${plan.pending_migrations === 1 ? '' : 's'} would be applied (no changes made)`)
    await finishWithoutApplying(ctx, deployment, recorder, previewReport(environment.name, plan.migrations), startedMs)
    return
  }
  // After an interrupted apply, "nothing pending" may be this deployment's own work: apply reports it.
  if (plan.pending_migrations === 0 && !applyBegan(deployment)) {
    await finishWithoutApplying(ctx, deployment, recorder, noPendingReport(deployment.operation, environment.name), startedMs)
    return
  }

  if (environment.protected && environment.mode === 'deploy') {
    await waitForApproval(ctx, deployment, environment, recorder, plan.checksum)
    return
  }
  await recorder.finishStep('approval', 'skipped', environment.protected ? 'dev mode skips approval' : `${environment.name} is not protected`)
  await runApplyPhase(ctx, { ...deployment, plan, source_snapshot: snapshot }, recorder, { source, healthBefore: health.summary, startedMs, frozen: false })
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
  await recorder.log(`⏸ Waiting for approval: ${required} required from ${environment.approval.roles.join(' or ')} (plan ${checksum}), expires ${expiresAt.toISOString()}`)
}

async function finishWithoutApplying (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, report: Record<string, unknown>, startedMs: number): Promise<void> {
  const done = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps })
  if (done === undefined) return
  await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
  await recorder.log(completedBanner({ environment: deployment.environment, migrationsApplied: 0, durationMs: performance.now() - startedMs, backupId: null, healthy: true }), 'banner')
}
