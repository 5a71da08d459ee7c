import { Worker, type ConnectionOptions } from 'bullmq'
import type { DeploymentJobData } from './queue/deployment-jobs.js'
import { enqueueDeploymentPhase } from './queue/deployment-jobs.js'
import { listUnfinishedDeployments, type Phase } from './store/deployments.js'
import type { PipelineContext } from './pipeline/pipeline-context.js'
import { runDeploymentPhase } from './pipeline/run-phase.js'
import { safeErrorMessage } from './lib/mask-secrets.js'

/**
 * The BullMQ worker: each job is `{deploymentId, phase}` and runs that phase of the pipeline.
 * Deployment failures are recorded on the deployment, so a job only fails (and retries) when
 * the control database itself cannot be reached.
 */
export function createDeploymentWorker (ctx: PipelineContext, options: { queueName: string, connection: ConnectionOptions, concurrency: number }): Worker<DeploymentJobData, void, Phase> {
  const worker = new Worker<DeploymentJobData, void, Phase>(options.queueName, async (job) => {
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
 * Puts every queued or running deployment back on the queue. Job ids are deterministic, so a
 * job that still exists is left alone; one lost with Redis (or never enqueued) is recreated.
 */
export async function reconcileQueue (ctx: PipelineContext): Promise<number> {
  const unfinished = await listUnfinishedDeployments(ctx.pool)
  for (const deployment of unfinished) {
    await enqueueDeploymentPhase(ctx.queue, deployment.id, deployment.phase)
  }
  return unfinished.length
}
