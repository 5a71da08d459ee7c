import type { Job } from 'bullmq'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { withTimeout } from '../lib/with-timeout.js'
import { LOCK_NAMESPACES, tryTransactionLock } from '../store/control-locks.js'
import { listPendingApprovalExpiries, listUnfinishedDeployments, listWindowWaits } from '../store/deployments.js'
import type { DeploymentRow } from '../domain/index.js'
import { getTurnState } from '../store/apply-queue.js'
import { deleteExpiredIdempotencyKeys } from '../store/idempotency-keys.js'
import { withTransaction, type Queryable } from '../store/pool.js'
import { deploymentJobId, enqueueDeploymentExpiry, enqueueDeploymentPhase, enqueueWindowOpening, scheduleDriftChecks, type DeploymentJobData } from '../queue/deployment-jobs.js'
import { failAbandonedDeployment } from '../pipeline/abandoned-deployment.js'
import { dropRehearsalLeftovers } from './rehearsal-leftovers.js'
import { nowOf } from '../pipeline/deployment-window.js'

/** Job states in which the job will still run (or is running): nothing to do. */
const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children', 'wait', 'paused'])

/** BullMQ's reason when a job's worker died more often than `maxStalledCount` allows. */
const STALLED_LIMIT = 'job stalled more than allowable limit'

/** Bound on each Redis call, so a pass never hangs (holding its transaction) while Redis is down. */
const REDIS_TIMEOUT_MS = 5000

export interface ReconcileResult {
  /** False when another worker's reconciler was running at the same moment. */
  ran: boolean
  examined: number
  /** Deployments whose job was missing (or finished while the row was not) and was added again. */
  enqueued: string[]
  /** Deployments ended as failed because their worker kept dying. */
  failed: string[]
}

/**
 * The outbox side of "never lose a deployment": every `queued` (new, or approved and waiting to
 * apply) and `running` deployment must have a live job. A job that is missing (Redis flushed
 * or restarted, an enqueue that failed) is added again; one that already completed or failed
 * while the row did not finish is removed first, because BullMQ ignores an add whose id
 * exists in any state (completed jobs are removed at once, failed ones are kept 7 days).
 * Job ids are deterministic, and the deployment lease guards against a second runner anyway.
 */
export async function reconcileQueue (ctx: PipelineContext): Promise<ReconcileResult> {
  const result: ReconcileResult = { ran: false, examined: 0, enqueued: [], failed: [] }
  await withTransaction(ctx.pool, async (db) => {
    // One pass at a time across all workers; the others skip this round.
    if (!await tryTransactionLock(db, LOCK_NAMESPACES.reconciler, 'queue')) return
    result.ran = true
    const unfinished = await listUnfinishedDeployments(db)
    result.examined = unfinished.length
    for (const deployment of unfinished) await reconcileDeployment(ctx, db, deployment, result)
    // Expiry jobs lost with Redis are scheduled again (an existing one is left alone: same job id).
    for (const pending of await listPendingApprovalExpiries(db)) {
      await withTimeout(enqueueDeploymentExpiry(ctx.queue, pending.id, pending.expires_at), REDIS_TIMEOUT_MS, 'Redis')
    }
    // So are the window jobs of deployments waiting for their deployment window.
    for (const waiting of await listWindowWaits(db)) {
      await withTimeout(enqueueWindowOpening(ctx.queue, waiting.id, waiting.next_window_at.getTime() - nowOf(ctx)), REDIS_TIMEOUT_MS, 'Redis')
    }
    // And the repeatable drift checks (idempotent upserts).
    for (const environment of Object.values(ctx.config.environments)) {
      if (environment.drift_check !== undefined) await withTimeout(scheduleDriftChecks(ctx.queue, environment.name, environment.drift_check.every), REDIS_TIMEOUT_MS, 'Redis')
    }
  })
  return result
}

async function reconcileDeployment (ctx: PipelineContext, db: Queryable, deployment: Pick<DeploymentRow, 'id' | 'status' | 'phase' | 'dry_run'>, result: ReconcileResult): Promise<void> {
  const job: Job<DeploymentJobData> | undefined = await withTimeout(ctx.queue.getJob(deploymentJobId(deployment.id, deployment.phase)), REDIS_TIMEOUT_MS, 'Redis')
  const state = job === undefined ? 'missing' : await withTimeout(job.getState(), REDIS_TIMEOUT_MS, 'Redis')
  if (LIVE_STATES.has(state)) return
  if (state === 'failed' && job?.failedReason === STALLED_LIMIT) {
    if (await failAbandonedDeployment(ctx, deployment.id, deployment.phase)) result.failed.push(deployment.id)
    return
  }
  if (job !== undefined) {
    // Completed, failed (control database down through every attempt) or half-gone after a flush.
    const removed = await withTimeout(job.remove(), REDIS_TIMEOUT_MS, 'Redis').then(() => true, () => false)
    if (!removed) return
  }
  const fresh = await getTurnState(db, deployment.id)
  if (fresh === undefined || (fresh.status !== 'queued' && fresh.status !== 'running') || fresh.phase !== deployment.phase) return
  await withTimeout(enqueueDeploymentPhase(ctx.queue, deployment.id, deployment.phase, { preview: deployment.dry_run }), REDIS_TIMEOUT_MS, 'Redis')
  result.enqueued.push(deployment.id)
  ctx.logger.info({ deployment_id: deployment.id, phase: deployment.phase, job_state: state }, 're-enqueued a deployment whose job was missing')
}

/** Removes Idempotency-Key records older than 24 hours. */
export async function cleanUpIdempotencyKeys (ctx: PipelineContext): Promise<number> {
  return await deleteExpiredIdempotencyKeys(ctx.pool)
}

/**
 * Runs the reconciler (and the idempotency-key cleanup) now and then every `intervalMs`, never
 * two passes at once in this process; errors (Redis or the control database down) are logged
 * and the next round tries again. Returns a function that stops it and waits for a running pass.
 */
export function startReconciler (ctx: PipelineContext, intervalMs: number): { stop: () => Promise<void>, runNow: () => Promise<ReconcileResult | undefined> } {
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let running: Promise<ReconcileResult | undefined> | undefined

  const pass = async (): Promise<ReconcileResult | undefined> => {
    try {
      const result = await reconcileQueue(ctx)
      await cleanUpIdempotencyKeys(ctx)
      await dropRehearsalLeftovers(ctx)
      if (result.enqueued.length > 0 || result.failed.length > 0) ctx.logger.info({ requeued: result.enqueued.length, failed: result.failed.length }, 'reconciler pass')
      return result
    } catch (error) {
      ctx.logger.warn({ err: { message: safeErrorMessage(error) } }, 'reconciler pass failed; the next one will try again')
      return undefined
    }
  }
  const runNow = async (): Promise<ReconcileResult | undefined> => {
    running ??= pass().finally(() => { running = undefined })
    return await running
  }
  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(() => { void runNow().finally(schedule) }, intervalMs)
    timer.unref()
  }
  void runNow().finally(schedule)
  return {
    runNow,
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      await running
    }
  }
}
