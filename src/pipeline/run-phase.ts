import { AppError, WindowClosedError, WorkerStoppingError } from '../errors/index.js'
import type { Phase } from '../domain/index.js'
import { isConnectionError } from '../lib/connection-errors.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { claimDeployment } from '../store/deployments.js'
import { passApprovalGate } from './approval-gate.js'
import { DeploymentFailure, failureFrom } from './deployment-failure.js'
import { DeploymentRecorder } from './deployment-recorder.js'
import { DeploymentRun } from './deployment-run.js'
import { holdForWindow, waitForWindow } from './deployment-window.js'
import { takeBaselineAfter } from './drift-check.js'
import { endDeployment, type Ending } from './end-deployment.js'
import type { ApplyInput, Operation } from './operation.js'
import { operationFor } from './operations.js'
import type { PipelineContext } from './pipeline-context.js'
import { validateEnvironment } from './steps/preamble.js'

/**
 * Runs one phase of a deployment, as a worker job does, top to bottom: claim it, choose its
 * operation, plan (then pass the approval gate and apply, in the same job, when nothing stops it)
 * or apply an approved plan, and end it. Every failure of the deployment itself ends it as
 * `failed` with a report; only a graceful shutdown and failures to reach the control database
 * escape, so BullMQ hands the job over or retries it (and the retry resumes).
 */
export async function runDeploymentPhase (ctx: PipelineContext, deploymentId: string, phase: Phase): Promise<void> {
  const claimed = await claimDeployment(ctx.pool, deploymentId, phase)
  if (claimed === undefined) {
    ctx.logger.info({ deployment_id: deploymentId, phase }, 'nothing to do: the deployment is not waiting for this phase (cancelled or already done)')
    return
  }
  const logger = ctx.logger.child({ deployment_id: deploymentId, phase })
  const recorder = new DeploymentRecorder(ctx.pool, claimed, logger)
  let run: DeploymentRun | undefined
  let ending: Ending | undefined
  try {
    // The claim recorded queued→running (a resumed phase was running already: nothing changed).
    const environment = await validateEnvironment(ctx, claimed, recorder)
    const operation = operationFor(claimed, environment)
    run = new DeploymentRun(ctx, claimed, environment, recorder, logger)
    ending = phase === 'plan' ? await planThenApply(run, operation) : await apply(run, operation, { frozen: true })
  } catch (error) {
    if (error instanceof WorkerStoppingError) throw error
    if (error instanceof WindowClosedError && run !== undefined) {
      // windows.on_close: hold: the migration in flight finished; the rest waits for the next window.
      const held = run
      ending = await waitForWindow(held, error.nextOpenAt, error.reason).then(() => undefined, (failure: unknown) => ({ status: 'failed' as const, failure: failureFrom(failure) }))
    } else {
      if (!(error instanceof AppError) && isConnectionError(error)) throw error
      if (!(error instanceof AppError)) logger.error({ err: { message: safeErrorMessage(error) } }, 'deployment failed with an unexpected error')
      ending = { status: 'failed', failure: failureFrom(error) }
    }
  }
  // Undefined: the deployment waits for approval or for its window.
  // The drift watch's baseline: what this deployment left on the target, taken while it still runs (no check reports it).
  if (ending !== undefined && run !== undefined) await takeBaselineAfter(run)
  if (ending !== undefined) await endDeployment({ db: ctx.pool, deployment: run?.deployment ?? claimed, recorder }, ['running'], ending)
}

/** The plan phase: plan, then, unless it ended or waits for approval, apply in the same job. */
async function planThenApply (run: DeploymentRun, operation: Operation): Promise<Ending | undefined> {
  const outcome = await operation.plan(run)
  if ('ending' in outcome) return outcome.ending
  const gate = await passApprovalGate(run, operation, outcome.planned.plan)
  if (gate === 'wait') return undefined
  return await apply(run, operation, { frozen: gate === 'approved', planned: outcome.planned })
}

async function apply (run: DeploymentRun, operation: Operation, input: ApplyInput): Promise<Ending | undefined> {
  if (operation.apply === undefined) throw new DeploymentFailure({ error: `${operation.name} only plans; it has nothing to apply` })
  // Outside the environment's deployment window: waits for it (undefined), like an approval.
  if (await holdForWindow(run)) return undefined
  return await operation.apply(run, input)
}
