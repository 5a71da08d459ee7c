import { DelayedError, type Job } from 'bullmq'
import { nowOf, openDeploymentWindow } from '../pipeline/deployment-window.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { enqueueDeploymentPhase, type DeploymentJobData, type JobPhase } from '../queue/deployment-jobs.js'

/**
 * The delayed window job (due at the deployment's `next_window_at`): a deployment still waiting
 * goes back in line and its apply job is enqueued (if Redis refuses, the reconciler enqueues it:
 * the row is already `queued`). Early, it goes back to the delayed set until the window opens.
 */
export async function runWindowJob (ctx: PipelineContext, job: Job<DeploymentJobData, void, JobPhase>, token: string | undefined): Promise<void> {
  const result = await openDeploymentWindow(ctx, job.data.deploymentId)
  if (result.outcome === 'started') {
    await enqueueDeploymentPhase(ctx.queue, result.deployment.id, 'apply')
    return
  }
  if (result.outcome === 'not_due' && token !== undefined) {
    await job.moveToDelayed(Date.now() + Math.max(1000, result.dueAt.getTime() - nowOf(ctx)), token)
    throw new DelayedError()
  }
}
