import { DelayedError, type Job } from 'bullmq'
import { WorkerStoppingError } from '../errors/index.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { runDeploymentPhase } from '../pipeline/run-phase.js'
import type { Phase } from '../domain/index.js'
import { appendEvent } from '../store/events.js'
import type { DeploymentJobData } from '../queue/deployment-jobs.js'
import { enterDeploymentJob, promoteNextInLine } from '../pipeline/job-gate.js'

/** Puts the job back as delayed (not an attempt, not a failure) and tells BullMQ so. */
async function postpone (job: Job<DeploymentJobData, void, Phase>, token: string | undefined, delayMs: number): Promise<never> {
  await job.moveToDelayed(Date.now() + delayMs, token)
  throw new DelayedError()
}

/**
 * One job: a phase of one deployment. The gate decides whether it may run now (its lease, its
 * environment's turn); a job that may not is delayed instead of holding a worker slot. A phase
 * interrupted by a graceful shutdown goes straight back to the queue for another worker.
 */
export async function processDeploymentJob (ctx: PipelineContext, job: Job<DeploymentJobData, void, Phase>, token: string | undefined): Promise<void> {
  // Expiry jobs never reach here (the worker routes them to expireDeployment).
  const { deploymentId } = job.data
  const phase = job.data.phase as Phase
  const gate = await enterDeploymentJob(ctx, deploymentId, phase)
  if (gate.kind === 'wait') {
    ctx.logger.debug({ deployment_id: deploymentId, phase, reason: gate.reason }, 'not its turn yet; retrying later')
    return await postpone(job, token, gate.retryInMs)
  }
  let handOver = false
  try {
    if (gate.resumed) {
      await appendEvent(ctx.pool, {
        deploymentId,
        type: 'phase_resumed',
        message: `↻ Picking up the ${phase} phase again after an interrupted attempt (a worker stopped or lost a dependency); continuing from the target's migration history`,
        data: { phase, attempts_started: job.attemptsStarted }
      })
    }
    await runDeploymentPhase(ctx, deploymentId, phase)
  } catch (error) {
    if (!(error instanceof WorkerStoppingError)) throw error
    handOver = true
  } finally {
    await gate.close()
    if (gate.holdsTurn && gate.environment !== undefined) {
      await promoteNextInLine(ctx, gate.environment).catch((error: unknown) => {
        ctx.logger.warn({ err: { message: safeErrorMessage(error) } }, 'could not wake the next deployment in line; it retries on its own')
      })
    }
  }
  if (handOver) {
    await appendEvent(ctx.pool, { deploymentId, type: 'phase_handed_over', message: '⏸ Worker shutting down: stopped between migrations (the last one finished and was recorded); another worker continues', data: { phase } })
    ctx.logger.info({ deployment_id: deploymentId, phase }, 'shutting down: handed the deployment back to the queue')
    await postpone(job, token, 0)
  }
}
