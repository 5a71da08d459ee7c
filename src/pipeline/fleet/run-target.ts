import { AppError, WorkerStoppingError } from '../../errors/index.js'
import { isConnectionError } from '../../lib/connection-errors.js'
import type { PlanGroup } from '../../domain/index.js'
import type { MigrationHandler } from '../../handlers/types.js'
import { applyMigrations } from '../apply-phase.js'
import { DeploymentFailure, failureFrom } from '../deployment-failure.js'
import type { DeploymentRun } from '../deployment-run.js'
import { errorReport } from '../report.js'
import { runHealthCheckStep } from '../steps/health-check-step.js'
import type { FleetTarget } from './resolve-targets.js'
import { TargetRecorder, TargetRun } from './target-run.js'

/** How one target's pipeline ended. */
export interface TargetOutcome {
  status: 'succeeded' | 'failed' | 'skipped'
  migrationsApplied: number
  error: string | null
  /** The target's own report, in the skill's shape (SPEC §6), with `target` and its steps and log. */
  report: Record<string, unknown>
}

/**
 * The whole single-database pipeline on one fleet target, as its own run: pre-deployment health
 * check, then the apply of deploy-migrations with its group's plan frozen (its migration lock on
 * that target alone, the plan-is-stale check, backup where configured, each migration with its
 * history row, post-deployment health check with rollback, verify). A target whose history moved
 * since the plan is skipped as stale; any other failure fails the target only. A graceful
 * shutdown and a lost control database escape, like in a single deployment, so the job resumes.
 */
export async function runFleetTarget (fleet: DeploymentRun, handler: MigrationHandler, group: PlanGroup, target: FleetTarget): Promise<TargetOutcome> {
  const { ctx, deployment, environment } = fleet
  const logger = fleet.logger.child({ target: target.name })
  const recorder = new TargetRecorder(ctx.pool, deployment, logger, target.name)
  const plan = { checksum: group.checksum, pending_migrations: group.pending_migrations, migrations: group.migrations }
  const run = new TargetRun(ctx, { ...deployment, plan, steps: [] }, environment, recorder, logger, target)
  const trail = (): Record<string, unknown> => ({ target: target.name, steps: recorder.steps, log: recorder.lines })
  try {
    const health = await runHealthCheckStep(run, { when: 'before', label: 'Pre-deployment health check', handler, source: deployment.source_snapshot ?? [] })
    if (health.outcome === 'failed') {
      throw new DeploymentFailure({
        error: 'Pre-deployment health check failed',
        suggestions: ['Check that the target is running and reachable from the worker, then retry the fleet deployment'],
        extraResult: { health_check: 'failed', details: health.result?.details ?? [] }
      })
    }
    const ending = await applyMigrations(run, { frozen: true })
    if (ending.status !== 'succeeded') throw new DeploymentFailure({ error: `target ended ${ending.status}` })
    return { status: 'succeeded', migrationsApplied: ending.summary.migrationsApplied, error: null, report: { ...ending.report, ...trail() } }
  } catch (error) {
    if (error instanceof WorkerStoppingError) throw error
    // A raw connection error is the control database's (a target's comes wrapped): the job retries and resumes.
    if (!(error instanceof AppError) && isConnectionError(error)) throw error
    const failure = failureFrom(error)
    const stale = failure.extraResult?.stale !== undefined
    const base = { operation: deployment.operation, environment: environment.name, mode: environment.mode }
    const report = errorReport({ ...base, ...failure, suggestions: failure.suggestions ?? [] })
    const applied = failure.migrationsAppliedBeforeFailure?.length ?? 0
    return { status: stale ? 'skipped' : 'failed', migrationsApplied: failure.rollback?.status === 'success' ? 0 : applied, error: failure.error, report: { ...report, ...trail() } }
  }
}
