import type pg from 'pg'
import type { Logger } from 'pino'
import { hasRole, type Principal } from '../auth/principal.js'
import type { Config, EnvironmentConfig } from '../config/load.js'
import { ConflictError, ForbiddenError, GoneError, NotFoundError } from '../errors/index.js'
import { insertApproval, listApprovals } from '../store/approvals.js'
import { takeApplyTicket } from '../store/apply-queue.js'
import { getDeployment, transitionDeployment } from '../store/deployments.js'
import { type DeploymentRow } from '../domain/index.js'
import { withTransaction } from '../store/pool.js'
import { DeploymentRecorder } from './deployment-recorder.js'
import { expireIfDue } from './expire-deployment.js'
import { endedBanner } from './human-log.js'
import { errorReport } from './report.js'

interface Locked { deployment: DeploymentRow, environment: EnvironmentConfig | undefined }

async function lockDeployment (db: pg.PoolClient, config: Config, id: string): Promise<Locked> {
  const deployment = await getDeployment(db, id, { forUpdate: true })
  if (deployment === undefined) throw new NotFoundError(`deployment ${id} not found`)
  return { deployment, environment: config.environments[deployment.environment] }
}

function assertMayApprove (principal: Principal, deployment: DeploymentRow, environment: EnvironmentConfig | undefined, action: 'approve' | 'reject'): void {
  const approval = environment?.approval
  const roles = approval?.roles ?? ['approver']
  if (!hasRole(principal, roles)) {
    throw new ForbiddenError(`${principal.name} may not ${action} in ${deployment.environment}: it needs one of the roles ${roles.join(', ')}`)
  }
  if (approval?.approvers !== undefined && !approval.approvers.includes(principal.name)) {
    throw new ForbiddenError(`${principal.name} is not one of the named approvers of ${deployment.environment} (${approval.approvers.join(', ')})`)
  }
  if (action === 'approve' && principal.name === deployment.requested_by && approval?.allow_self_approval !== true) {
    throw new ForbiddenError(`${principal.name} requested this deployment and cannot approve it; another approver must`)
  }
}

function notPending (deployment: DeploymentRow): ConflictError {
  return new ConflictError(`deployment ${deployment.id} is ${deployment.status}, not pending_approval`, { status: deployment.status }, 'NOT_PENDING_APPROVAL')
}

export interface ApproveResult {
  deployment: DeploymentRow
  /** True when this approval completed the required number and the apply phase must be enqueued. */
  released: boolean
}

/**
 * Records one approval of the exact plan. When enough distinct approvers have approved, the
 * deployment goes back to `queued` for its apply phase.
 */
export async function approveDeployment (pool: pg.Pool, config: Config, logger: Logger, principal: Principal, id: string, comment: string | null): Promise<ApproveResult> {
  let expired = false
  const result = await withTransaction(pool, async (db) => {
    const { deployment, environment } = await lockDeployment(db, config, id)
    if (await expireIfDue(db, deployment, logger)) { expired = true; return undefined }
    if (deployment.status === 'expired') throw new GoneError(`deployment ${id} expired without enough approvals; create a new deployment`)
    if (deployment.status !== 'pending_approval') throw notPending(deployment)
    assertMayApprove(principal, deployment, environment, 'approve')
    const checksum = deployment.plan?.checksum ?? ''
    if (!await insertApproval(db, { deployment_id: id, approver: principal.name, comment, plan_checksum: checksum })) {
      throw new ConflictError(`${principal.name} has already approved deployment ${id}; another approver must`, undefined, 'ALREADY_APPROVED')
    }
    const recorder = new DeploymentRecorder(db, deployment, logger)
    await recorder.event('approved', { plan_checksum: checksum, comment }, principal.name)
    const approvals = await listApprovals(db, id)
    if (approvals.length < deployment.approvals_required) {
      await recorder.log(`✓ Approval received (${principal.name}): ${approvals.length} of ${deployment.approvals_required}`)
      return { deployment, released: false }
    }
    await recorder.finishStep('approval', 'passed', `approved by ${approvals.map((a) => a.approver).join(', ')}`)
    const queued = await transitionDeployment(db, id, ['pending_approval'], { status: 'queued', phase: 'apply', steps: recorder.steps })
    // Approved plans apply in order of approval: a new place at the back of the environment's line.
    await takeApplyTicket(db, id, deployment.environment)
    await recorder.event('status_changed', { from: 'pending_approval', to: 'queued', phase: 'apply' }, principal.name)
    await recorder.log(`✓ Approval confirmed (${approvals.map((a) => a.approver).join(', ')})`)
    return { deployment: queued ?? deployment, released: true }
  })
  if (expired || result === undefined) throw new GoneError(`deployment ${id} expired without enough approvals; create a new deployment`)
  return result
}

/** Ends a pending deployment as `rejected`; nothing is applied. */
export async function rejectDeployment (pool: pg.Pool, config: Config, logger: Logger, principal: Principal, id: string, reason: string): Promise<DeploymentRow> {
  return await withTransaction(pool, async (db) => {
    const { deployment, environment } = await lockDeployment(db, config, id)
    if (deployment.status !== 'pending_approval') throw notPending(deployment)
    assertMayApprove(principal, deployment, environment, 'reject')
    const recorder = new DeploymentRecorder(db, deployment, logger)
    await recorder.finishStep('approval', 'failed', `rejected by ${principal.name}: ${reason}`)
    const report = errorReport({ operation: deployment.operation, environment: deployment.environment, mode: deployment.mode, error: `Rejected by ${principal.name}: ${reason}`, suggestions: ['Address the reason given, then create a new deployment'] })
    const rejected = await transitionDeployment(db, id, ['pending_approval'], { status: 'rejected', report, steps: recorder.steps }) as DeploymentRow
    await recorder.event('rejected', { reason, plan_checksum: deployment.plan?.checksum ?? null }, principal.name)
    await recorder.log(endedBanner('rejected', deployment.environment, `Rejected by ${principal.name}: ${reason}`), 'banner')
    return rejected
  })
}

/** Cancels a deployment that has not started applying: its requester or an admin may. */
export async function cancelDeployment (pool: pg.Pool, config: Config, logger: Logger, principal: Principal, id: string): Promise<DeploymentRow> {
  return await withTransaction(pool, async (db) => {
    const { deployment } = await lockDeployment(db, config, id)
    if (!principal.roles.includes('admin') && deployment.requested_by !== principal.name) {
      throw new ForbiddenError(`${principal.name} may cancel only its own deployments; this one was requested by ${deployment.requested_by}`)
    }
    if (deployment.status !== 'queued' && deployment.status !== 'pending_approval') {
      throw new ConflictError(`deployment ${id} is ${deployment.status}; only queued or pending_approval deployments can be cancelled`, { status: deployment.status }, 'NOT_CANCELLABLE')
    }
    const recorder = new DeploymentRecorder(db, deployment, logger)
    const report = errorReport({ operation: deployment.operation, environment: deployment.environment, mode: deployment.mode, error: `Cancelled by ${principal.name}`, suggestions: ['Nothing was applied; create a new deployment when ready'] })
    const cancelled = await transitionDeployment(db, id, ['queued', 'pending_approval'], { status: 'cancelled', report }) as DeploymentRow
    await recorder.event('cancelled', { from: deployment.status }, principal.name)
    await recorder.log(endedBanner('cancelled', deployment.environment, `Cancelled by ${principal.name}; nothing was applied`), 'banner')
    return cancelled
  })
}
