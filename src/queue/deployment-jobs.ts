import { Queue, type ConnectionOptions } from 'bullmq'
import type { Phase } from '../store/deployments.js'

/** The only thing a job carries: the control database holds everything else. */
export interface DeploymentJobData {
  deploymentId: string
  phase: Phase
}

/**
 * Deterministic job id, so enqueuing the same phase twice (a retry, the reconciler) never runs
 * it twice at once. BullMQ refuses ':' in custom ids, hence '.'.
 */
export function deploymentJobId (deploymentId: string, phase: Phase): string {
  return `${deploymentId}.${phase}`
}

export type DeploymentQueue = Queue<DeploymentJobData, void, Phase>

export function createDeploymentQueue (name: string, connection: ConnectionOptions): DeploymentQueue {
  return new Queue<DeploymentJobData, void, Phase>(name, {
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
