import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq'
import type { DeploymentJobData, JobPhase } from './queue/deployment-jobs.js'
import { enqueueDeploymentExpiry, enqueueDeploymentPhase } from './queue/deployment-jobs.js'
import { listPendingApprovalExpiries, listUnfinishedDeployments } from './store/deployments.js'
import { expireDeployment } from './pipeline/expire-deployment.js'
import type { PipelineContext } from './pipeline/pipeline-context.js'
import { runDeploymentPhase } from './pipeline/run-phase.js'
import { safeErrorMessage } from './lib/mask-secrets.js'

/**
 * The BullMQ worker: each job is `{deploymentId, phase}` and runs that phase of the pipeline.
 * Deployment failures are recorded on the deployment, so a job only fails (and retries) when
 * the control database itself cannot be reached.
 */
export function createDeploymentWorker (ctx: PipelineContext, options: { queueName: string, connection: ConnectionOptions, concurrency: number }): Worker<DeploymentJobData, void, JobPhase> {
  const worker = new Worker<DeploymentJobData, void, JobPhase>(options.queueName, async (job, token) => {
    if (job.data.phase === 'expire') {
      await runExpiryJob(ctx, job, token)
      return
    }
    await runDeploymentPhase(ctx, job.data.deploymentId, job.data.phase)
  }, { connection: options.connection, concurrency: options.concurrency })
  worker.on('failed', (job, error) => {
    ctx.logger.error({ deployment_id: job?.data.deploymentId, phase: job?.data.phase, err: { message: safeErrorMessage(error) } }, 'job failed; BullMQ will retry it')
  })
  worker.on('error', (error) => {
    ctx.logger.error({ err: { message: safeErrorMessage(error) } }, 'worker error')
  })
  return worker
}

/**
 * The delayed expiry job. If it runs before the deployment's `expires_at` (the machine that
 * scheduled it has a clock ahead of this one's), it goes back to the delayed set until then.
 */
async function runExpiryJob (ctx: PipelineContext, job: Job<DeploymentJobData, void, JobPhase>, token: string | undefined): Promise<void> {
  const result = await expireDeployment(ctx.pool, ctx.logger, job.data.deploymentId)
  if (result.outcome === 'not_due' && token !== undefined) {
    await job.moveToDelayed(result.dueAt.getTime(), token)
    throw new DelayedError()
  }
}

/**
 * Puts every queued or running deployment back on the queue, and schedules the expiry of every
 * pending one. Job ids are deterministic, so a job that still exists is left alone; one lost
 * with Redis (or never enqueued) is recreated.
 */
export async function reconcileQueue (ctx: PipelineContext): Promise<number> {
  const unfinished = await listUnfinishedDeployments(ctx.pool)
  for (const deployment of unfinished) {
    await enqueueDeploymentPhase(ctx.queue, deployment.id, deployment.phase)
  }
  for (const pending of await listPendingApprovalExpiries(ctx.pool)) {
    await enqueueDeploymentExpiry(ctx.queue, pending.id, pending.expires_at)
  }
  return unfinished.length
}
