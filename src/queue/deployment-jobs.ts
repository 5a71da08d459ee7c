import { Queue, type ConnectionOptions } from 'bullmq'
import type { Phase } from '../domain/index.js'

/**
 * What a job does: run a pipeline phase (`plan`, `apply`), or `expire` a deployment whose
 * approval window closed (a delayed job, due at its `expires_at`).
 */
export type JobPhase = Phase | 'expire'

/** The only thing a job carries: the control database holds everything else. */
export interface DeploymentJobData {
  deploymentId: string
  phase: JobPhase
}

/**
 * Deterministic job id, so enqueuing the same phase twice (a retry, the reconciler) never runs
 * it twice at once. BullMQ refuses ':' in custom ids, hence '.'.
 */
export function deploymentJobId (deploymentId: string, phase: JobPhase): string {
  return `${deploymentId}.${phase}`
}

export type DeploymentQueue = Queue<DeploymentJobData, void, JobPhase>

export function createDeploymentQueue (name: string, connection: ConnectionOptions): DeploymentQueue {
  return new Queue<DeploymentJobData, void, JobPhase>(name, {
    connection,
    defaultJobOptions: {
      // Pipeline failures are recorded on the deployment, never thrown; only infrastructure errors
      // (control DB unreachable) reach BullMQ, and those are worth retrying.
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 }
    }
  })
}

export async function enqueueDeploymentPhase (queue: DeploymentQueue, deploymentId: string, phase: Phase): Promise<void> {
  await queue.add(phase, { deploymentId, phase }, { jobId: deploymentJobId(deploymentId, phase) })
}

/** Enqueues several phases in one round trip to Redis (BullMQ's addBulk); same job ids as enqueueDeploymentPhase. */
export async function enqueueDeploymentPhases (queue: DeploymentQueue, jobs: ReadonlyArray<{ deploymentId: string, phase: Phase }>): Promise<void> {
  const [only] = jobs
  // One job needs no MULTI around it.
  if (jobs.length === 1 && only !== undefined) return await enqueueDeploymentPhase(queue, only.deploymentId, only.phase)
  await queue.addBulk(
    jobs.map(({ deploymentId, phase }) => ({ name: phase, data: { deploymentId, phase }, opts: { jobId: deploymentJobId(deploymentId, phase) } }))
  )
}

/**
 * Schedules the expiry of a pending deployment as a delayed job due at `expiresAt`: BullMQ
 * promotes it on time, so no process polls for expired approvals. The id is deterministic, so
 * scheduling twice (the plan phase, then the reconciler) keeps one job.
 */
export async function enqueueDeploymentExpiry (queue: DeploymentQueue, deploymentId: string, expiresAt: Date): Promise<void> {
  await queue.add('expire', { deploymentId, phase: 'expire' }, { jobId: deploymentJobId(deploymentId, 'expire'), delay: Math.max(0, expiresAt.getTime() - Date.now()) })
}
