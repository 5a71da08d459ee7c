import type { EnvironmentConfig } from '../config/load.js'
import type { Plan } from '../domain/index.js'
import { transitionDeployment } from '../store/deployments.js'
import { autoApprove } from './auto-approve.js'
import type { DeploymentRun } from './deployment-run.js'
import { scheduleExpiry } from './expire-deployment.js'
import type { Operation } from './operation.js'
import { approvalNeeded } from './risk-policy.js'

/** Whether an environment stops deployments for approval: protected, and not in dev mode. */
export function requiresApproval (environment: Pick<EnvironmentConfig, 'protected' | 'mode'>): boolean {
  return environment.protected && environment.mode === 'deploy'
}

/**
 * What the gate decided for a new plan: apply it now, unapproved (`not_required`) or approved
 * automatically (`approved`), or `wait` in `pending_approval` for the approvers.
 */
export type GateDecision = 'not_required' | 'approved' | 'wait'

/**
 * The approval gate (SPEC §1 step 8), the same for every operation. An environment without one
 * lets the plan through. A protected one shows the reviewers the safety steps the requester
 * turned off, approves automatically where `approval.auto_approve_roles` says so, and otherwise
 * parks the deployment in `pending_approval` for its apply phase, with its expiry scheduled.
 */
export async function passApprovalGate (run: DeploymentRun, operation: Operation, plan: Plan): Promise<GateDecision> {
  const { environment, recorder, deployment } = run
  // A plan whose risk raises the approval (policy.approvals_by_risk) stops in any deploy-mode environment.
  const raisedByRisk = plan.risk?.approval != null && environment.mode === 'deploy'
  if (!requiresApproval(environment) && !raisedByRisk) {
    await recorder.finishStep('approval', 'skipped', environment.protected ? 'dev mode skips approval' : `${environment.name} is not protected`)
    return 'not_required'
  }
  if (deployment.skip_backup) {
    await recorder.log('⚠ skip_backup was requested: no backup will be taken before applying', 'safety_override', { skip_backup: true })
  }
  if (deployment.skip_health_check) {
    await recorder.log('⚠ skip_health_check was requested: no health checks before or after applying', 'safety_override', { skip_health_check: true })
  }
  if (operation.approval.autoApprove && !raisedByRisk && await autoApprove(run, plan.checksum)) return 'approved'
  await waitForApproval(run, operation, plan)
  return 'wait'
}

async function waitForApproval (run: DeploymentRun, operation: Operation, plan: Plan): Promise<void> {
  const approval = approvalNeeded(run.environment, plan)
  const required = approval.required_approvals
  const expiresAt = new Date(Date.now() + run.environment.approval.expires_after)
  const subject = operation.approval.subject
  const needs = `${required} approval${required === 1 ? '' : 's'}`
  await run.recorder.startStep('approval', subject === undefined
    ? `waiting for ${needs} (roles: ${approval.roles.join(', ')})`
    : `${subject} needs ${needs} (roles: ${approval.roles.join(', ')}; never auto-approved)`)
  const moved = await transitionDeployment(run.ctx.pool, run.deployment.id, ['running'], {
    status: 'pending_approval',
    phase: 'apply',
    approvals_required: required,
    expires_at: expiresAt,
    steps: run.recorder.steps
  })
  if (moved === undefined) return
  await run.recorder.event('status_changed', { from: 'running', to: 'pending_approval', plan_checksum: plan.checksum })
  await scheduleExpiry(run.ctx, run.deployment.id, expiresAt)
  const what = subject === undefined ? '' : ` of ${subject}`
  const who = approval.roles.join(' or ')
  await run.recorder.log(`⏸ Waiting for approval${what}: ${required} required from ${who} (plan ${plan.checksum}), expires ${expiresAt.toISOString()}`)
}
