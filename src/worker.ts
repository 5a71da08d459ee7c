import { DelayedError, Worker, type Job } from 'bullmq'
import type { QueueConnection } from './redis/connections.js'
import { DEFAULT_RELIABILITY, type ReliabilitySettings } from './config/reliability.js'
import type { DeploymentJobData, JobPhase } from './queue/deployment-jobs.js'
import { processDeploymentJob } from './worker/process-deployment-job.js'
import type { Phase } from './domain/index.js'
import { expireDeployment } from './pipeline/expire-deployment.js'
import { runWindowJob } from './worker/window-job.js'
import { checkDrift } from './pipeline/drift-check.js'
import type { PipelineContext } from './pipeline/pipeline-context.js'
import { safeErrorMessage } from './lib/mask-secrets.js'

export { reconcileQueue, startReconciler } from './worker/reconciler.js'

export interface DeploymentWorkerOptions {
  queueName: string
  /** From `RedisConnections.queue(queueName)`: the same connection settings and key prefix as the queue. */
  redis: QueueConnection
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
export function createDeploymentWorker (ctx: PipelineContext, options: DeploymentWorkerOptions): Worker<DeploymentJobData, void, JobPhase> {
  const reliability = options.reliability ?? DEFAULT_RELIABILITY
  const worker = new Worker<DeploymentJobData, void, JobPhase>(options.queueName, async (job, token) => {
    if (job.data.phase === 'expire') {
      await runExpiryJob(ctx, job, token)
      return
    }
    if (job.data.phase === 'drift') {
      if (job.data.environment !== undefined) await checkDrift(ctx, job.data.environment)
      return
    }
    if (job.data.phase === 'window') {
      await runWindowJob(ctx, job, token)
      return
    }
    await processDeploymentJob(ctx, job as Job<DeploymentJobData, void, Phase>, token)
  }, {
    ...options.redis,
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
