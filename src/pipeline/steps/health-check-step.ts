import type { EnvironmentConfig } from '../../config/load.js'
import type { HealthCheckOutcome } from '../../domain/index.js'
import type { MigrationHandler, MigrationIdentity } from '../../handlers/types.js'
import type { DeploymentRun } from '../deployment-run.js'
import { runHealthChecks, type HealthCheckResult } from './health-check.js'
import { logTargetRoleWarnings, refusePowerfulTargetRole } from './target-role.js'

export interface HealthCheckStep {
  when: 'before' | 'after'
  /** How the log names it: `Pre-deployment health check`, `Post-restore health check`. */
  label: string
  handler: MigrationHandler
  /** The migrations being deployed, for the drift check. */
  source: MigrationIdentity[]
  /** Which checks run; default the environment's (a restore runs fewer). */
  checks?: EnvironmentConfig['health_check']['checks']
  /** Drift that is reported, not failed (dev mode with reset_on_drift). */
  allowDrift?: boolean
  /**
   * Look at the target role's powers too (the pre-deployment check, SPEC §15): its warnings go to
   * the human log, and with `skip_health_check` a protected environment still refuses a powerful role.
   */
  inspectRole?: boolean
}

export interface HealthCheckStepResult {
  outcome: HealthCheckOutcome
  /** The checks' result, when they ran. */
  result?: HealthCheckResult
  /** The failed checks in one line, when they failed. */
  failures?: string
}

/**
 * The `health_check_before` / `health_check_after` step of every operation (SPEC §1 steps 4 and
 * 10): skipped when `skip_health_check` was requested, else the checks run and the step and the
 * human log record how they went. A failure is returned, not thrown: what it means (a rollback
 * first?) is the operation's to say.
 */
export async function runHealthCheckStep (run: DeploymentRun, check: HealthCheckStep): Promise<HealthCheckStepResult> {
  const { recorder } = run
  const step = check.when === 'before' ? 'health_check_before' : 'health_check_after'
  if (run.deployment.skip_health_check) {
    await recorder.finishStep(step, 'skipped', 'skip_health_check was requested')
    await recorder.log(`⚠ ${check.label}: skipped (skip_health_check)`)
    if (check.inspectRole === true) await refusePowerfulTargetRole(run.databaseUrl(), run.environment)
    return { outcome: 'skipped' }
  }
  await recorder.startStep(step)
  const { health_check: configured } = run.environment
  const environment = check.checks === undefined ? run.environment : { ...run.environment, health_check: { ...configured, checks: check.checks } }
  const result = await runHealthChecks({
    databaseUrl: run.databaseUrl(),
    environment,
    handler: check.handler,
    source: check.source,
    sessions: run.ctx.targetSessions,
    reuse: check.when === 'before',
    ...(check.allowDrift === undefined ? {} : { allowDrift: check.allowDrift }),
    ...(check.inspectRole === undefined ? {} : { inspectRole: check.inspectRole })
  })
  if (result.passed) {
    await recorder.together(async () => {
      await logTargetRoleWarnings(recorder, result.details)
      await recorder.finishStep(step, 'passed', result.details.map((d) => `${d.check}: ${d.message}`).join('; '))
      await recorder.log(`✓ ${check.label}: passed`)
    })
    return { outcome: 'passed', result }
  }
  const failures = result.details.filter((d) => !d.passed).map((d) => `${d.check}: ${d.message}`).join('; ')
  await recorder.together(async () => {
    await recorder.finishStep(step, 'failed', failures)
    await recorder.log(`✗ ${check.label}: failed (${failures})`)
  })
  return { outcome: 'failed', result, failures }
}
