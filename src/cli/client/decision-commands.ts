import type { DeploymentResource } from '../../schemas/deployment.js'
import { ApiClient } from './api-client.js'
import { CONNECTION_HELP, type ClientCommand, type CliIo } from './command.js'
import { UsageError } from './errors.js'
import { EXIT } from './exit-codes.js'
import { onePositional, parseCommandArgs, resolveConnection, stringOption } from './options.js'

/** What a decision did, in words: an approval says how many were given and what happens next; an ending says nothing was applied. */
export function describeDecision (deployment: DeploymentResource, verb: 'approved' | 'rejected' | 'cancelled'): string {
  if (verb !== 'approved') return `${deployment.id} ${verb}: nothing was applied`
  const given = deployment.approval?.approvals.length ?? 0
  const required = deployment.approval?.required ?? given
  if (deployment.status === 'pending_approval') {
    const missing = required - given
    return `${deployment.id} approved (${given} of ${required}): ${missing} more approval${missing === 1 ? '' : 's'} needed before it runs`
  }
  return `${deployment.id} approved (${given} of ${required}): released, now ${deployment.status.replace(/_/g, ' ')}`
}

function printOutcome (io: CliIo, json: boolean, deployment: DeploymentResource, verb: 'approved' | 'rejected' | 'cancelled'): number {
  io.out(json ? JSON.stringify(deployment, null, 2) : describeDecision(deployment, verb))
  return EXIT.ok
}

export const approveCommand: ClientCommand = {
  name: 'approve',
  summary: 'approve the plan of a deployment waiting for approval',
  usage: `usage: migration-deployer approve <deployment id> [--comment <text>] [--json]\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, { comment: { type: 'string' } })
    const id = onePositional(positionals, 'deployment id')
    const client = new ApiClient(resolveConnection(values, io.env))
    const comment = stringOption(values, 'comment')
    const deployment = await client.json<DeploymentResource>('POST', `/deployments/${encodeURIComponent(id)}/approve`, comment === undefined ? {} : { comment })
    return printOutcome(io, values.json === true, deployment, 'approved')
  }
}

export const rejectCommand: ClientCommand = {
  name: 'reject',
  summary: 'reject a deployment waiting for approval',
  usage: `usage: migration-deployer reject <deployment id> --reason <text> [--json]\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, { reason: { type: 'string' } })
    const id = onePositional(positionals, 'deployment id')
    const reason = stringOption(values, 'reason')
    if (reason === undefined || reason.trim() === '') throw new UsageError('--reason <text> is required: say why the deployment is rejected')
    const client = new ApiClient(resolveConnection(values, io.env))
    const deployment = await client.json<DeploymentResource>('POST', `/deployments/${encodeURIComponent(id)}/reject`, { reason })
    return printOutcome(io, values.json === true, deployment, 'rejected')
  }
}

export const cancelCommand: ClientCommand = {
  name: 'cancel',
  summary: 'cancel a queued deployment or one waiting for approval',
  usage: `usage: migration-deployer cancel <deployment id> [--json]\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, {})
    const id = onePositional(positionals, 'deployment id')
    const client = new ApiClient(resolveConnection(values, io.env))
    const deployment = await client.json<DeploymentResource>('POST', `/deployments/${encodeURIComponent(id)}/cancel`)
    return printOutcome(io, values.json === true, deployment, 'cancelled')
  }
}
