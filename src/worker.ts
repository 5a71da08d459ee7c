import { Worker, type ConnectionOptions } from 'bullmq'
import { DEFAULT_RELIABILITY, type ReliabilitySettings } from './config/reliability.js'
import type { DeploymentJobData } from './queue/deployment-jobs.js'
import { processDeploymentJob } from './queue/process-deployment-job.js'
import type { Phase } from './store/deployments.js'
import type { PipelineContext } from './pipeline/pipeline-context.js'
import { safeErrorMessage } from './lib/mask-secrets.js'

export { reconcileQueue, startReconciler } from './queue/reconciler.js'

export interface DeploymentWorkerOptions {
  queueName: string
  connection: ConnectionOptions
  concurrency: number
  /** Stalled-job tuning; defaults suit production. */
  reliability?: Pick<ReliabilitySettings, 'lockDurationMs' | 'stalledIntervalMs' | 'maxStalledCount'>
}

/**
 * The BullMQ worker: each job is `{deploymentId, phase}` and runs that phase of the pipeline.
 * Deployment failures are recorded on the deployment, so a job only fails (and retries) when
 * the control database itself cannot be reached. A worker that dies holding a job loses its
 * lock after `lockDurationMs`; another worker's stalled check (every `stalledIntervalMs`) then
 * hands the job over, and the phase resumes from the target's history.
 */
export function createDeploymentWorker (ctx: PipelineContext, options: DeploymentWorkerOptions): Worker<DeploymentJobData, void, Phase> {
  const reliability = options.reliability ?? DEFAULT_RELIABILITY
  const worker = new Worker<DeploymentJobData, void, Phase>(options.queueName, async (job, token) => {
    await processDeploymentJob(ctx, job, token)
  }, {
    connection: options.connection,
    concurrency: options.concurrency,
    lockDuration: reliability.lockDurationMs,
    stalledInterval: reliability.stalledIntervalMs,
    maxStalledCount: reliability.maxStalledCount
  })
  worker.on('failed', (job, error) => {
    ctx.logger.error({ deployment_id: job?.data.deploymentId, phase: job?.data.phase, err: { message: safeErrorMessage(error) } }, 'job failed; BullMQ will retry it')
  })
  worker.on('error', (error) => {
    ctx.logger.error({ err: { message: safeErrorMessage(error) } }, 'worker error')
  })
  return worker
}
