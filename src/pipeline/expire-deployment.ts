import type pg from 'pg'
import type { Logger } from 'pino'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { enqueueDeploymentExpiry } from '../queue/deployment-jobs.js'
import { getDeployment } from '../store/deployments.js'
import type { DeploymentRow, DeploymentStatus } from '../domain/index.js'
import { countApprovals } from '../store/approvals.js'
import { withTransaction } from '../store/pool.js'
import { DeploymentRecorder } from './deployment-recorder.js'
import { endDeployment } from './end-deployment.js'
import type { PipelineContext } from './pipeline-context.js'

/**
 * Ends a pending deployment whose approval window has closed (`pending_approval` → `expired`):
 * the approval step fails, the report says why, the audit trail and the human log record it.
 * `deployment` must be the row locked FOR UPDATE in `db`'s transaction. Returns true if it did.
 */
export async function expireIfDue (db: pg.PoolClient, deployment: DeploymentRow, logger: Logger): Promise<boolean> {
  if (deployment.status !== 'pending_approval' || deployment.expires_at === null || deployment.expires_at.getTime() > Date.now()) return false
  const recorder = new DeploymentRecorder(db, deployment, logger)
  const approvalsReceived = await countApprovals(db, deployment.id)
  const ended = await endDeployment({ db, deployment, recorder }, ['pending_approval'], { status: 'expired', approvalsReceived })
  if (ended === undefined) return false
  logger.info({ deployment_id: deployment.id, expires_at: deployment.expires_at.toISOString() }, 'deployment expired without enough approvals')
  return true
}

export type ExpiryOutcome =
  | { outcome: 'expired' }
  /** The job ran before `expires_at` (clocks of two machines disagree): run it again at `dueAt`. */
  | { outcome: 'not_due', dueAt: Date }
  /** Approved, rejected, cancelled or already expired: nothing to do. */
  | { outcome: 'not_pending', status: DeploymentStatus | 'missing' }

/**
 * What the expiry job does (a BullMQ delayed job scheduled when the deployment entered
 * `pending_approval`, due at its `expires_at`): expire it if it is still pending, else nothing.
 */
export async function expireDeployment (pool: pg.Pool, logger: Logger, id: string): Promise<ExpiryOutcome> {
  return await withTransaction(pool, async (db) => {
    const deployment = await getDeployment(db, id, { forUpdate: true })
    if (deployment === undefined) return { outcome: 'not_pending', status: 'missing' }
    if (deployment.status !== 'pending_approval' || deployment.expires_at === null) return { outcome: 'not_pending', status: deployment.status }
    if (await expireIfDue(db, deployment, logger.child({ deployment_id: id, phase: 'expire' }))) return { outcome: 'expired' }
    return { outcome: 'not_due', dueAt: deployment.expires_at }
  })
}

/**
 * Schedules the expiry job of a deployment that just entered `pending_approval`. If Redis
 * refuses, the deployment still cannot be approved late (approve checks `expires_at` itself)
 * and the worker's reconciler schedules the job when it next starts.
 */
export async function scheduleExpiry (ctx: Pick<PipelineContext, 'queue' | 'logger'>, deploymentId: string, expiresAt: Date): Promise<void> {
  try {
    await enqueueDeploymentExpiry(ctx.queue, deploymentId, expiresAt)
  } catch (error) {
    ctx.logger.warn({ deployment_id: deploymentId, err: { message: safeErrorMessage(error) } }, 'could not schedule the approval expiry; approvals after expires_at are still refused')
  }
}
