import { insertApproval } from '../store/approvals.js'
import type { DeploymentRun } from './deployment-run.js'

/** The approver recorded for an automatic approval (the config refuses a token of that name). */
export const AUTO_APPROVER = 'system'

/**
 * The roles the requester held when it asked: an OIDC or SSO requester's as recorded with the
 * deployment; a static token's from the config. Never looked up by name for an OIDC principal:
 * its name comes from a template over the CI job's claims and may equal a static token's name.
 */
function requesterRoles ({ ctx, deployment }: DeploymentRun): readonly string[] {
  if (deployment.requested_identity != null) return deployment.requested_identity.roles ?? []
  return ctx.config.tokens.find((token) => token.name === deployment.requested_by)?.roles ?? []
}

/**
 * `approval.auto_approve_roles`: a deployment requested by a token holding one of those roles is
 * approved when planned, with the rule recorded in the approval and the audit trail. Returns true
 * when it approved, so the plan goes straight on to apply, frozen.
 */
export async function autoApprove (run: DeploymentRun, checksum: string): Promise<boolean> {
  const { ctx, deployment, environment, recorder } = run
  if (environment.approval.auto_approve_roles.length === 0) return false
  const role = requesterRoles(run).find((r) => environment.approval.auto_approve_roles.includes(r))
  if (role === undefined) return false
  const rule = `environments.${environment.name}.approval.auto_approve_roles includes ${role} (held by ${deployment.requested_by})`
  await run.save({ approvals_required: environment.approval.required_approvals })
  await insertApproval(ctx.pool, { deployment_id: deployment.id, approver: AUTO_APPROVER, comment: `automatic approval: ${rule}`, plan_checksum: checksum })
  await recorder.event('approved', { automatic: true, rule, plan_checksum: checksum }, AUTO_APPROVER)
  await recorder.finishStep('approval', 'passed', `auto-approved: ${rule}`)
  await recorder.log(`✓ Approval confirmed (auto-approved: ${rule})`)
  return true
}
