import { AppError, WorkerStoppingError } from '../errors/index.js'
import { isConnectionError } from '../lib/connection-errors.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { claimDeployment, transitionDeployment } from '../store/deployments.js'
import { type DeploymentRow, type Phase } from '../domain/index.js'
import { runApplyPhase } from './apply-phase.js'
import { DeploymentFailure, type FailureDetails } from './deployment-failure.js'
import { DeploymentRecorder } from './deployment-recorder.js'
import { failedBanner } from './human-log.js'
import type { PipelineContext } from './pipeline-context.js'
import { runPlanPhase } from './plan-phase.js'
import { runRestoreApplyPhase } from './restore-phase.js'
import { errorReport } from './report.js'

/**
 * Runs one phase of a deployment, as a worker job does. Every failure of the deployment itself
 * ends it as `failed` with a report; only failures to reach the control database escape, so
 * BullMQ retries the job.
 */
export async function runDeploymentPhase (ctx: PipelineContext, deploymentId: string, phase: Phase): Promise<void> {
  const deployment = await claimDeployment(ctx.pool, deploymentId, phase)
  if (deployment === undefined) {
    ctx.logger.info({ deployment_id: deploymentId, phase }, 'nothing to do: the deployment is not waiting for this phase (cancelled or already done)')
    return
  }
  const log = ctx.logger.child({ deployment_id: deploymentId, phase })
  const recorder = new DeploymentRecorder(ctx.pool, deployment, log)
  const startedMs = performance.now()
  try {
    if (phase === 'plan') {
      await recorder.event('status_changed', { from: 'queued', to: 'running', phase })
      await runPlanPhase(ctx, deployment, recorder)
    } else {
      await recorder.event('status_changed', { from: 'queued', to: 'running', phase })
      if (deployment.operation === 'restore-backup') await runRestoreApplyPhase(ctx, deployment, recorder, { healthBefore: healthBeforeOf(deployment), startedMs })
      else await runApplyPhase(ctx, deployment, recorder, { frozen: true, healthBefore: healthBeforeOf(deployment), startedMs })
    }
  } catch (error) {
    // A graceful shutdown is not a failure: the worker hands the job to another one.
    if (error instanceof WorkerStoppingError) throw error
    // A lost connection (the control database, mostly) is retried by BullMQ; the retry resumes.
    if (!(error instanceof AppError) && isConnectionError(error)) throw error
    await recordFailure(ctx, deployment, recorder, error)
  }
}

function healthBeforeOf (deployment: DeploymentRow): string {
  const step = deployment.steps.find((s) => s.name === 'health_check_before')
  return step?.status === 'passed' ? 'passed' : step?.status === 'skipped' ? 'skipped' : 'not_run'
}

function failureFrom (error: unknown): FailureDetails {
  if (error instanceof DeploymentFailure) return error.failure
  if (error instanceof AppError) return { error: safeErrorMessage(error), suggestions: [] }
  return { error: `Internal error: ${safeErrorMessage(error)}`, suggestions: ['This is a bug in migration-deployer or its environment; the worker log has the details'] }
}

async function recordFailure (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, error: unknown): Promise<void> {
  const failure = failureFrom(error)
  const running = recorder.runningStep()
  if (running !== undefined) await recorder.finishStep(running, 'failed', failure.error)
  if (!(error instanceof AppError)) ctx.logger.error({ deployment_id: deployment.id, err: { message: safeErrorMessage(error) } }, 'deployment failed with an unexpected error')
  const report = errorReport({
    operation: deployment.operation,
    environment: deployment.environment,
    mode: deployment.mode,
    error: failure.error,
    failedMigration: failure.failedMigration ?? null,
    migrationsAppliedBeforeFailure: failure.migrationsAppliedBeforeFailure ?? [],
    backupId: failure.backupId ?? null,
    rollbackInitiated: failure.rollbackInitiated ?? false,
    rollbackStatus: failure.rollbackStatus ?? null,
    suggestions: failure.suggestions ?? [],
    ...(failure.extraResult === undefined ? {} : { extraResult: failure.extraResult })
  })
  const failed = await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'failed', report, steps: recorder.steps })
  if (failed === undefined) return
  await recorder.event('status_changed', { from: 'running', to: 'failed', error: failure.error })
  await recorder.log(failedBanner({ environment: deployment.environment, error: failure.error, suggestions: failure.suggestions ?? [] }), 'banner')
}
