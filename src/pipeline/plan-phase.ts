import { resetDatabase } from '../backup/index.js'
import type { EnvironmentConfig } from '../config/load.js'
import type { Report } from '../domain/index.js'
import { handlerFor } from '../handlers/index.js'
import type { MigrationFile, MigrationHandler, MigrationStatus } from '../handlers/types.js'
import { measuredDurations } from '../store/applied-migrations.js'
import { analyzePlan } from './analyze-plan.js'
import { buildPlan } from './build-plan.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRun } from './deployment-run.js'
import type { Ending } from './end-deployment.js'
import { loadMigrationSource, projectDirectoryOf } from './migration-source.js'
import type { PlanOutcome } from './operation.js'
import { noPendingReport, previewReport } from './report.js'
import { healthCheckSuggestions, recoverySuggestions } from './recovery-suggestions.js'
import { targetRoleFailure } from './steps/target-role.js'
import { applyBegan } from './resume.js'
import { runHealthCheckStep } from './steps/health-check-step.js'
import { runPreamble } from './steps/preamble.js'
import { reviewPlan } from './steps/review-plan.js'
import { assessRisk, describeRisk } from './risk-policy.js'
import { checkPromotionGate, enforcePromotionGate } from './steps/promotion-gate.js'

/**
 * The plan of `deploy-migrations` and `preview-migrations`: read the migrations, check health,
 * find what is pending, analyse it into the plan a reviewer sees, check the promotion gate, and
 * either end here (a dry run, nothing pending) or hand the plan on to the approval gate and apply.
 */
export async function planMigrations (run: DeploymentRun): Promise<PlanOutcome> {
  const { ctx, deployment, environment, recorder } = run
  const { handler, source } = await runPreamble(run, async () => {
    const handler = handlerFor(environment, await projectDirectoryOf(deployment, environment, ctx.config))
    const files = await loadMigrationSource(deployment, environment, ctx.config, handler)
    return { value: { handler, source: files }, detail: `tool ${environment.migration_tool}, ${files.length} migrations in the source` }
  })
  const health = await checkHealthBefore(run, handler, source)

  await recorder.startStep('check_pending')
  let status = health ?? await handler.status(run.databaseUrl(), source)
  if (status.drifted.length > 0 && environment.mode === 'dev' && environment.reset_on_drift) {
    status = await resetDriftedDevDatabase(run, handler, source, status)
  }
  assertNoFailedMigrations(environment, status)
  assertNoDrift(environment, status)
  const measured = await measuredDurations(ctx.pool, status.pending.map((m) => m.checksum), environment.name)
  const analyzed = await analyzePlan(buildPlan(environment.name, status.pending, measured), status.pending, environment, run.logger, ctx.config.limits)
  // The gate's result goes into the plan: reviewers read it beside the SQL.
  const gate = await checkPromotionGate(ctx.pool, environment, analyzed)
  let plan = await assessRisk(gate === undefined ? analyzed : { ...analyzed, promotion_gate: gate }, status.pending, environment)
  await run.save({ plan, source_snapshot: source.map((file) => ({ name: file.name, checksum: file.checksum })) })
  // The step's closing lines in one write (a refused promotion gate writes them up to its refusal).
  await recorder.together(async () => {
    await recorder.log(`✓ Pending migrations: ${plan.pending_migrations} found`)
    for (const line of plan.risk === undefined ? [] : describeRisk(plan.risk)) await recorder.log(line, 'risk', { level: plan.risk?.level })
    await enforcePromotionGate(run, plan, gate)
    await recorder.finishStep('check_pending', 'passed', `${plan.pending_migrations} pending of ${source.length}`)
  })
  // Preflight and rehearsal (SPEC §12): before a dry run's preview and before the approval gate.
  const reviewed = await reviewPlan(run, plan, status.pending, handler)
  if (reviewed !== plan) await run.save({ plan: plan = reviewed })
  if (handler.preview !== undefined && plan.pending_migrations > 0) {
    await recorder.log(`Preview by ${environment.migration_tool} (command.preview):`)
    await handler.preview(run.databaseUrl(), async (line) => { await recorder.log(`  │ ${line}`, 'tool_output') })
  }

  if (deployment.dry_run) {
    await recorder.finishStep('preview', 'passed', 'dry run: nothing applied')
    await recorder.log(`✓ Preview: ${plan.pending_migrations} migration${plan.pending_migrations === 1 ? '' : 's'} would be applied (no changes made)`)
    return { ending: nothingApplied(run, previewReport(environment.name, plan.migrations, environment.mode, plan)) }
  }
  // After an interrupted apply, "nothing pending" may be this deployment's own work: apply reports it.
  if (plan.pending_migrations === 0 && !applyBegan(deployment)) {
    return { ending: nothingApplied(run, noPendingReport(deployment.operation, environment.name, environment.mode)) }
  }
  return { planned: { plan, source } }
}

/** A plan that ends the deployment as succeeded without applying anything. */
function nothingApplied (run: DeploymentRun, report: Report): Ending {
  return { status: 'succeeded', report, summary: { migrationsApplied: 0, durationMs: run.elapsedMs(), backupId: null, healthy: true } }
}

/** The pre-deployment health check; its history read is the migration status check_pending needs. */
async function checkHealthBefore (run: DeploymentRun, handler: MigrationHandler, source: MigrationFile[]): Promise<MigrationStatus<MigrationFile> | undefined> {
  const { environment } = run
  const allowDrift = environment.mode === 'dev' && environment.reset_on_drift
  const health = await runHealthCheckStep(run, { when: 'before', label: 'Pre-deployment health check', handler, source, allowDrift, inspectRole: true })
  if (health.outcome === 'failed') {
    const details = health.result?.details ?? []
    const roleFailure = targetRoleFailure(environment, details)
    throw new DeploymentFailure({
      error: roleFailure?.error ?? 'Pre-deployment health check failed',
      suggestions: roleFailure?.suggestions ?? healthCheckSuggestions(details, environment),
      extraResult: { health_check: 'failed', details }
    })
  }
  // The status was read against this same source.
  return health.result?.status as MigrationStatus<MigrationFile> | undefined
}

/**
 * dev mode with `reset_on_drift`: empty the database and plan every migration again. A dry run
 * only says it would.
 */
async function resetDriftedDevDatabase (
  run: DeploymentRun, handler: MigrationHandler, source: MigrationFile[], status: MigrationStatus<MigrationFile>
): Promise<MigrationStatus<MigrationFile>> {
  const { environment, recorder } = run
  const drift = status.drifted.map((d) => d.name).join(', ')
  if (run.deployment.dry_run) {
    await recorder.log(`⚠ Drift in ${environment.name} (${drift}): a real deployment would reset the database (reset_on_drift) and reapply every migration`)
    return { ...status, pending: source, applied: [], failed: [], drifted: [] }
  }
  await recorder.log(
    `⚠ Drift in ${environment.name} (${drift}): resetting the database and reapplying every migration (dev mode, reset_on_drift)`,
    'database_reset',
    { drifted: status.drifted }
  )
  await resetDatabase(run.databaseUrl())
  return await handler.status(run.databaseUrl(), source)
}

function assertNoFailedMigrations (environment: EnvironmentConfig, status: MigrationStatus<MigrationFile>): void {
  if (status.failed.length === 0) return
  const names = status.failed.map((entry) => entry.name)
  throw new DeploymentFailure({
    error: `Migration ${names.join(', ')} failed in an earlier deployment and is not resolved`,
    failedMigration: names[0] ?? null,
    suggestions: recoverySuggestions('unfinished_migration', { environment, migrations: names })
  })
}

/** Deploy mode never applies on top of drift: an applied migration whose file changed or vanished. */
function assertNoDrift (environment: EnvironmentConfig, status: MigrationStatus<MigrationFile>): void {
  if (status.drifted.length === 0) return
  const why = (reason: string): string => reason === 'checksum_changed' ? 'edited after it was applied' : 'applied but missing from the source'
  const drift = status.drifted.map((d) => `${d.name} (${why(d.reason)})`)
  throw new DeploymentFailure({
    error: `Drift detected: ${drift.join(', ')}`,
    suggestions: recoverySuggestions('drift', { environment }),
    extraResult: { drift: status.drifted }
  })
}
