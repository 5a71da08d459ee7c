import type pg from 'pg'
import type { Logger } from 'pino'
import { assertMayActIn } from '../auth/environment-scope.js'
import { isSamePerson } from '../auth/identity.js'
import { hasRole, type Principal } from '../auth/principal.js'
import type { Config, EnvironmentConfig } from '../config/load.js'
import { ConflictError, ForbiddenError, GoneError, NotFoundError } from '../errors/index.js'
import { insertApproval, listApprovals } from '../store/approvals.js'
import { takeApplyTicket } from '../store/apply-queue.js'
import { getDeployment, transitionDeployment } from '../store/deployments.js'
import type { DeploymentRow } from '../domain/index.js'
import { withTransaction } from '../store/pool.js'
import { DeploymentRecorder } from './deployment-recorder.js'
import { expireIfDue } from './expire-deployment.js'
import { endDeployment } from './end-deployment.js'

interface Locked { deployment: DeploymentRow, environment: EnvironmentConfig | undefined }

async function lockDeployment (db: pg.PoolClient, config: Config, id: string): Promise<Locked> {
  const deployment = await getDeployment(db, id, { forUpdate: true })
  if (deployment === undefined) throw new NotFoundError(`deployment ${id} not found`)
  return { deployment, environment: config.environments[deployment.environment] }
}

function assertMayApprove (principal: Principal, deployment: DeploymentRow, environment: EnvironmentConfig | undefined, action: 'approve' | 'reject'): void {
  assertMayActIn(principal, deployment.environment)
  const approval = environment?.approval
  const roles = approval?.roles ?? ['approver']
  if (!hasRole(principal, roles)) {
    throw new ForbiddenError(`${principal.name} may not ${action} in ${deployment.environment}: it needs one of the roles ${roles.join(', ')}`)
  }
  if (approval?.approvers !== undefined && !approval.approvers.includes(principal.name)) {
    throw new ForbiddenError(`${principal.name} is not one of the named approvers of ${deployment.environment} (${approval.approvers.join(', ')})`)
  }
  // The same person across both worlds: a CI run a person started (its rule's `person`) and their SSO session.
  const requester = { name: deployment.requested_by, identity: deployment.requested_identity }
  if (action === 'approve' && isSamePerson(principal, requester) && approval?.allow_self_approval !== true) {
    const via = principal.name === requester.name ? '' : ` (as ${requester.identity?.person ?? requester.name}, through ${requester.name})`
    throw new ForbiddenError(`${principal.name} requested this deployment${via} and cannot approve it; another approver must`)
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
export async function approveDeployment (
  pool: pg.Pool,
  config: Config,
  logger: Logger,
  principal: Principal,
  id: string,
  comment: string | null
): Promise<ApproveResult> {
  let expired = false
  const result = await withTransaction(pool, async (db) => {
    const { deployment, environment } = await lockDeployment(db, config, id)
    if (await expireIfDue(db, deployment, logger)) {
      expired = true
      return undefined
    }
    if (deployment.status === 'expired') throw new GoneError(`deployment ${id} expired without enough approvals; create a new deployment`)
    if (deployment.status !== 'pending_approval') throw notPending(deployment)
    assertMayApprove(principal, deployment, environment, 'approve')
    const checksum = deployment.plan?.checksum ?? ''
    if (!(await insertApproval(db, { deployment_id: id, approver: principal.name, comment, plan_checksum: checksum }))) {
      throw new ConflictError(`${principal.name} has already approved deployment ${id}; another approver must`, undefined, 'ALREADY_APPROVED')
    }
    const recorder = new DeploymentRecorder(db, deployment, logger)
    await recorder.event('approved', { plan_checksum: checksum, comment }, principal)
    const approvals = await listApprovals(db, id)
    if (approvals.length < deployment.approvals_required) {
      await recorder.log(`✓ Approval received (${principal.name}): ${approvals.length} of ${deployment.approvals_required}`)
      return { deployment, released: false }
    }
    await recorder.finishStep('approval', 'passed', `approved by ${approvals.map((a) => a.approver).join(', ')}`)
    const queued = await transitionDeployment(db, id, ['pending_approval'], { status: 'queued', phase: 'apply', steps: recorder.steps })
    // Approved plans apply in order of approval: a new place at the back of the environment's line.
    await takeApplyTicket(db, id, deployment.environment)
    await recorder.event('status_changed', { from: 'pending_approval', to: 'queued', phase: 'apply' }, principal)
    await recorder.log(`✓ Approval confirmed (${approvals.map((a) => a.approver).join(', ')})`)
    return { deployment: queued ?? deployment, released: true }
  })
  if (expired || result === undefined) throw new GoneError(`deployment ${id} expired without enough approvals; create a new deployment`)
  return result
}

/**
 * Ends a pending deployment as `rejected`; nothing is applied. One whose approval window has
 * closed expires instead (the expiry job may not have run yet), and the rejection is refused.
 */
export async function rejectDeployment (
  pool: pg.Pool,
  config: Config,
  logger: Logger,
  principal: Principal,
  id: string,
  reason: string
): Promise<DeploymentRow> {
  return await endUnlessExpired(pool, config, logger, id, notPending, async ({ db, deployment, environment, recorder }) => {
    if (deployment.status !== 'pending_approval') throw notPending(deployment)
    assertMayApprove(principal, deployment, environment, 'reject')
    return await endDeployment({ db, deployment, recorder }, ['pending_approval'], { status: 'rejected', by: principal, reason })
  })
}

/**
 * Cancels a deployment that has not started applying: its requester or an admin may. One whose
 * approval window has closed expires instead, and the cancel is refused.
 */
export async function cancelDeployment (pool: pg.Pool, config: Config, logger: Logger, principal: Principal, id: string): Promise<DeploymentRow> {
  return await endUnlessExpired(pool, config, logger, id, notCancellable, async ({ db, deployment, recorder }) => {
    assertMayActIn(principal, deployment.environment)
    if (!principal.roles.includes('admin') && deployment.requested_by !== principal.name) {
      throw new ForbiddenError(`${principal.name} may cancel only its own deployments; this one was requested by ${deployment.requested_by}`)
    }
    if (deployment.status !== 'queued' && deployment.status !== 'pending_approval') throw notCancellable(deployment)
    return await endDeployment({ db, deployment, recorder }, ['queued', 'pending_approval'], { status: 'cancelled', by: principal })
  })
}

function notCancellable (deployment: Pick<DeploymentRow, 'id' | 'status'>): ConflictError {
  const message = `deployment ${deployment.id} is ${deployment.status}; only queued or pending_approval deployments can be cancelled`
  return new ConflictError(message, { status: deployment.status }, 'NOT_CANCELLABLE')
}

/**
 * Runs a human decision that ends a deployment (reject, cancel) on its row locked FOR UPDATE.
 * A deployment past its approval window is expired first, in the same transaction, which
 * commits; the decision is then refused (409, `refusal`) as for any deployment that already expired.
 */
async function endUnlessExpired (
  pool: pg.Pool, config: Config, logger: Logger, id: string,
  refusal: (deployment: DeploymentRow) => ConflictError,
  decide: (locked: Locked & { db: pg.PoolClient, recorder: DeploymentRecorder }) => Promise<DeploymentRow | undefined>
): Promise<DeploymentRow> {
  let expired: DeploymentRow | undefined
  const ended = await withTransaction(pool, async (db) => {
    const locked = await lockDeployment(db, config, id)
    if (await expireIfDue(db, locked.deployment, logger)) {
      expired = { ...locked.deployment, status: 'expired' }
      return undefined
    }
    return await decide({ ...locked, db, recorder: new DeploymentRecorder(db, locked.deployment, logger) })
  })
  if (expired !== undefined) throw refusal(expired)
  // The row is locked and its status checked: the transition cannot lose a race.
  return ended as DeploymentRow
}
