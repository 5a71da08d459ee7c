import type { RehearsalConfig } from '../../config/schema.js'
import type { MigrationFile, Plan, PreflightCheck } from '../../domain/index.js'
import { runPreflight } from '../../preflight/index.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRun } from '../deployment-run.js'

/** `Preflight: migration 20250301_x would fail: 3 rows of "User" have NULL in "email"` (several joined by `; `). */
export function predictionMessage (predicted: PreflightCheck[]): string {
  const byMigration = new Map<string, string[]>()
  for (const check of predicted) byMigration.set(check.migration, [...(byMigration.get(check.migration) ?? []), check.reason ?? ''])
  return `Preflight: ${[...byMigration].map(([name, reasons]) => `migration ${name} would fail: ${reasons.join('; ')}`).join('; ')}`
}

/**
 * The `preflight` step: counts, on the live target and read-only, the rows each pending statement
 * would fail on. A predicted failure fails the deployment before approval (`PREFLIGHT_FAILED`),
 * or with `on_prediction: warn` goes to the approver as a warning on its migration.
 */
export async function preflightStep (run: DeploymentRun, plan: Plan, pending: MigrationFile[], settings: RehearsalConfig): Promise<Plan> {
  const { recorder, environment } = run
  await recorder.startStep('preflight')
  const checks = await runPreflight(run.databaseUrl(), pending, { queryTimeoutMs: settings.preflight_query_timeout })
  const predicted = checks.filter((c) => c.status === 'would_fail')
  const unsure = checks.filter((c) => c.status === 'timed_out' || c.status === 'skipped').length
  const counted = `${checks.length} check${checks.length === 1 ? '' : 's'} on ${environment.name}'s rows${unsure === 0 ? '' : ` (${unsure} not counted)`}`
  if (predicted.length > 0 && settings.on_prediction === 'fail') {
    const error = predictionMessage(predicted)
    await recorder.log(`✗ ${error}`, 'preflight', { preflight: checks })
    throw new DeploymentFailure({
      code: 'PREFLIGHT_FAILED',
      error,
      failedMigration: predicted[0]?.migration ?? null,
      suggestions: [
        'Nothing was applied. Fix the rows first (a backfill or cleanup migration before this one), or make the constraint NOT VALID and validate it later',
        `Set rehearsal.on_prediction: warn on ${environment.name} to send predicted failures to the approver instead`
      ],
      extraResult: { preflight: checks }
    })
  }
  const migrations = plan.migrations.map((migration) => {
    const flagged = predicted.filter((c) => c.migration === migration.name)
    return flagged.length === 0
      ? migration
      : { ...migration, warnings: [...flagged.map((c) => ({ rule: 'preflight', message: `predicted to fail: ${c.reason ?? ''}` })), ...migration.warnings] }
  })
  if (predicted.length > 0) await recorder.log(`⚠ ${predictionMessage(predicted)} (on_prediction: warn: the approver decides)`, 'preflight', { preflight: checks })
  else await recorder.log(`✓ Preflight: ${counted}, none predicts a failure`, 'preflight', { preflight: checks })
  await recorder.finishStep('preflight', 'passed', predicted.length === 0 ? counted : `${counted}; ${predicted.length} predicted to fail (on_prediction: warn)`)
  return { ...plan, migrations, preflight: checks }
}
