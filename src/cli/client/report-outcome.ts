import type { DeploymentResource } from '../../schemas/deployment.js'
import type { ApiClient } from './api-client.js'
import { describePendingApproval } from './approval-notice.js'
import type { CliIo } from './command.js'
import { EXIT, exitCodeForStatus } from './exit-codes.js'
import { FleetProgress } from './fleet-progress.js'
import { followDeployment, type StreamedEvent } from './follow.js'
import { describeWindowWait } from './window-commands.js'

/**
 * What `deploy` and `restore` do once the deployment exists: without `--wait`, say how to follow
 * it; with `--wait`, print the human log live (or only the final report with `--json`) and exit
 * with the code of SPEC §10.
 */
export async function reportOutcome (
  client: ApiClient,
  created: DeploymentResource,
  io: CliIo,
  options: { wait: boolean; json: boolean; timeoutMs: number | undefined; timeoutText: string | undefined }
): Promise<number> {
  const note = options.json ? io.err : io.out
  if (!options.wait) {
    if (options.json) io.out(JSON.stringify({ id: created.id, status: created.status, links: created.links }, null, 2))
    else io.out(`Follow it: migration-deployer log ${created.id} --follow`)
    return EXIT.ok
  }
  const fleet = new FleetProgress(io)
  // A fleet's rollout: a progress line with the counts, from its first batch to its last target.
  const onFleetEvent = async (event: StreamedEvent): Promise<boolean> => {
    if (event.type !== 'fleet_canary' && event.type !== 'fleet_batch') return fleet.event(event)
    if (event.message !== null) fleet.line(event.message)
    const current = await client.json<DeploymentResource>('GET', `/deployments/${encodeURIComponent(created.id)}`)
    if (current.summary !== undefined) fleet.update(current.summary)
    return true
  }
  const { deployment, timedOut } = await followDeployment(client, created.id, {
    timeoutMs: options.timeoutMs,
    onLine: (line) => {
      if (!options.json) fleet.line(line)
    },
    onEvent: async (event) => !options.json && await onFleetEvent(event),
    onNotice: (text) => io.err(text),
    onPendingApproval: async (pending) => note(await describePendingApproval(client, pending)),
    onWaitingForWindow: (waiting) => note(describeWindowWait(waiting))
  })
  if (!options.json) fleet.finish(deployment)
  if (timedOut) {
    const message = `${deployment.id} is still ${deployment.status} after --timeout ${options.timeoutText ?? ''}; it goes on without this command (migration-deployer log ${deployment.id} --follow)`
    if (options.json) io.out(JSON.stringify({ status: 'timeout', deployment_id: deployment.id, deployment_status: deployment.status, message }, null, 2))
    else io.err(`⌛ ${message}`)
    return EXIT.timeout
  }
  if (options.json) io.out(JSON.stringify(deployment.report ?? { status: deployment.status, deployment_id: deployment.id }, null, 2))
  return exitCodeForStatus(deployment.status)
}
