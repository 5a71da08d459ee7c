import type { DeploymentResource } from '../../schemas/deployment.js'
import type { ApiClient } from './api-client.js'

interface EnvironmentView {
  name: string
  approval: { required_approvals: number, roles: string[], approvers?: string[] | null, allow_self_approval: boolean } | null
}

/**
 * What a deployment waiting for approval needs, for a CI log: how many approvals from whom,
 * where to review it and how to approve it.
 */
export async function describePendingApproval (client: ApiClient, deployment: DeploymentResource): Promise<string> {
  const { environments } = await client.json<{ environments: EnvironmentView[] }>('GET', '/environments').catch(() => ({ environments: [] as EnvironmentView[] }))
  const approval = environments.find((e) => e.name === deployment.environment)?.approval
  const required = deployment.approval?.required ?? approval?.required_approvals ?? 1
  const given = deployment.approval?.approvals.length ?? 0
  const who = approval === undefined || approval === null
    ? 'an approver'
    : approval.approvers !== undefined && approval.approvers !== null && approval.approvers.length > 0
      ? `one of ${approval.approvers.join(', ')}`
      : `a token with the role ${approval.roles.join(' or ')}`
  const notSelf = approval?.allow_self_approval === true ? '' : ` (not ${deployment.requested_by}, who requested it)`
  const url = `${client.server}/deployments/${deployment.id}`
  return [
    `⏸ ${deployment.id} waits for approval in ${deployment.environment}: ${required - given} more approval${required - given === 1 ? '' : 's'} needed from ${who}${notSelf}`,
    // The review page's deep link: a browser cannot send a bearer token to the API's URL.
    `   Review:  ${client.server}/ui#/deployments/${encodeURIComponent(deployment.id)}`,
    `   Approve: POST ${url}/approve   or   migration-deployer approve ${deployment.id} --comment "…"`,
    `   Reject:  migration-deployer reject ${deployment.id} --reason "…"`,
    ...(deployment.approval?.expires_at == null ? [] : [`   Expires: ${deployment.approval.expires_at}`])
  ].join('\n')
}
