import { Queue, type JobsOptions } from 'bullmq'
import type { QueueConnection } from '../redis/connections.js'
import type { Phase } from '../domain/index.js'

/**
 * What a job does: run a pipeline phase (`plan`, `apply`), `expire` a deployment whose
 * approval window closed (a delayed job, due at its `expires_at`), or start a deployment whose
 * deployment window opens (`window`, a delayed job due at its `next_window_at`), or check an
 * environment for drift (`drift`, repeated every `drift_check.every`; `environment` says which).
 */
export type JobPhase = Phase | 'expire' | 'window' | 'drift'

/** The only thing a job carries: the control database holds everything else. */
export interface DeploymentJobData {
  deploymentId: string
  phase: JobPhase
  /** For `drift` jobs: the environment to check (they belong to no deployment). */
  environment?: string
}

/**
 * Deterministic job id, so enqueuing the same phase twice (a retry, the reconciler) never runs
 * it twice at once. BullMQ refuses ':' in custom ids, hence '.'.
 */
export function deploymentJobId (deploymentId: string, phase: JobPhase): string {
  return `${deploymentId}.${phase}`
}

export type DeploymentQueue = Queue<DeploymentJobData, void, JobPhase>

/** The deployments queue; `redis` comes from `RedisConnections.queue(name)` (its key prefix included). */
export function createDeploymentQueue (name: string, redis: QueueConnection): DeploymentQueue {
  return new Queue<DeploymentJobData, void, JobPhase>(name, {
    ...redis,
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

/**
 * Dry runs (previews) go behind real deployments: BullMQ takes every job without a priority before
 * any job with one, so a backlog of previews never delays a deployment someone is waiting on (an
 * approved production apply, for one). Among themselves, jobs keep their order.
 */
export const PREVIEW_PRIORITY = 10

/** One phase to enqueue; `preview` for a dry run's job. */
export interface PhaseToEnqueue {
  deploymentId: string
  phase: Phase
  preview?: boolean | undefined
}

function phaseJobOptions (job: PhaseToEnqueue): JobsOptions {
  return { jobId: deploymentJobId(job.deploymentId, job.phase), ...(job.preview === true ? { priority: PREVIEW_PRIORITY } : {}) }
}

export async function enqueueDeploymentPhase (queue: DeploymentQueue, deploymentId: string, phase: Phase, options: { preview?: boolean } = {}): Promise<void> {
  await queue.add(phase, { deploymentId, phase }, phaseJobOptions({ deploymentId, phase, preview: options.preview }))
}

/** Enqueues several phases in one round trip to Redis (BullMQ's addBulk); same job ids as enqueueDeploymentPhase. */
export async function enqueueDeploymentPhases (queue: DeploymentQueue, jobs: readonly PhaseToEnqueue[]): Promise<void> {
  const [only] = jobs
  // One job needs no MULTI around it.
  if (jobs.length === 1 && only !== undefined) return await enqueueDeploymentPhase(queue, only.deploymentId, only.phase, { preview: only.preview === true })
  await queue.addBulk(jobs.map((job) => ({ name: job.phase, data: { deploymentId: job.deploymentId, phase: job.phase }, opts: phaseJobOptions(job) })))
}

/**
 * Schedules the expiry of a pending deployment as a delayed job due at `expiresAt`: BullMQ
 * promotes it on time, so no process polls for expired approvals. The id is deterministic, so
 * scheduling twice (the plan phase, then the reconciler) keeps one job.
 */
export async function enqueueDeploymentExpiry (queue: DeploymentQueue, deploymentId: string, expiresAt: Date): Promise<void> {
  await queue.add('expire', { deploymentId, phase: 'expire' }, { jobId: deploymentJobId(deploymentId, 'expire'), delay: Math.max(0, expiresAt.getTime() - Date.now()) })
}

/**
 * Schedules the start of a deployment waiting for its window, as a delayed job due in `delayMs`
 * (when the window opens). Deterministic id: scheduling again (the reconciler) keeps one job.
 */
export async function enqueueWindowOpening (queue: DeploymentQueue, deploymentId: string, delayMs: number): Promise<void> {
  await queue.add('window', { deploymentId, phase: 'window' }, { jobId: deploymentJobId(deploymentId, 'window'), delay: Math.max(0, delayMs) })
}

/**
 * The repeatable drift check of an environment (BullMQ job scheduler, one per environment):
 * upserting is idempotent, so the reconciler calls it on every pass and a Redis that lost its
 * schedulers gets them back.
 */
export async function scheduleDriftChecks (queue: DeploymentQueue, environment: string, everyMs: number): Promise<void> {
  // BullMQ types the scheduler id as a job name; it is any string.
  const schedulerId = `drift.${environment}` as unknown as JobPhase
  await queue.upsertJobScheduler(schedulerId, { every: everyMs }, { name: 'drift', data: { deploymentId: '', phase: 'drift', environment }, opts: { removeOnFail: 100 } })
}
