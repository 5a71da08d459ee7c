import type { DeploymentResource } from '../../schemas/deployment.js'
import { ApiClient } from './api-client.js'
import { CONNECTION_HELP, type ClientCommand } from './command.js'
import { UsageError } from './errors.js'
import { EXIT } from './exit-codes.js'
import { onePositional, parseCommandArgs, resolveConnection, stringOption } from './options.js'

/** "2 d 3 h", "45 min": how long until `at`, for a person reading a CI log. */
function timeUntil (at: Date, now: number): string {
  const minutes = Math.max(0, Math.round((at.getTime() - now) / 60_000))
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
  return hours % 24 === 0 ? `${Math.floor(hours / 24)} d` : `${Math.floor(hours / 24)} d ${hours % 24} h`
}

/**
 * What a deployment waiting for its window (SPEC §15) does next, for a CI log: when it starts by
 * itself, and how an admin starts it now.
 */
export function describeWindowWait (deployment: DeploymentResource, now = Date.now()): string {
  const at = deployment.next_window_at === null ? null : new Date(deployment.next_window_at)
  return [
    `⏳ ${deployment.id} is approved and waits for the deployment window of ${deployment.environment}: ` +
      (at === null ? 'it starts by itself when the window opens' : `it starts by itself at ${at.toISOString()} (in ${timeUntil(at, now)})`),
    `   Start it now (admin, audited): migration-deployer override-window ${deployment.id} --reason "…"`
  ].join('\n')
}

/** override-window <id> --reason: an admin's break-glass start of a deployment waiting for its window. */
export const overrideWindowCommand: ClientCommand = {
  name: 'override-window',
  summary: 'start a deployment waiting for its window now (admin; the reason is audited)',
  usage: `usage: migration-deployer override-window <deployment id> --reason <text> [--json]\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, { reason: { type: 'string' } })
    const id = onePositional(positionals, 'deployment id')
    const reason = stringOption(values, 'reason')
    if (reason === undefined || reason.trim() === '') throw new UsageError('--reason <text> is required: say why the deployment may not wait for its window (it is audited)')
    const client = new ApiClient(resolveConnection(values, io.env))
    const deployment = await client.json<DeploymentResource>('POST', `/deployments/${encodeURIComponent(id)}/override-window`, { reason })
    io.out(values.json === true ? JSON.stringify(deployment, null, 2) : `${deployment.id}: deployment window overridden (${reason}); now ${deployment.status.replace(/_/g, ' ')}`)
    return EXIT.ok
  }
}
