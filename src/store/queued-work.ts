import type pg from 'pg'
import { LOCK_NAMESPACES } from './control-locks.js'
import type { DeploymentRow } from '../domain/index.js'
import { insertDeployments, type DeploymentToInsert } from './deployments.js'

/** A new deployment not recorded: its requester already has `max` deployments queued or running. */
export interface QueuedWorkRefusal {
  refused: true
  requestedBy: string
  queued: number
  max: number
}

export function isQueuedWorkRefusal (value: DeploymentRow | QueuedWorkRefusal): value is QueuedWorkRefusal {
  return 'refused' in value
}

/**
 * Records new deployments (see insertDeployments), admitting for each requester only as many as
 * keep its deployments `queued` or `running` (work the workers still owe it) within `maxQueued`;
 * the others come back as refusals, in the order given. Must run in a transaction on `client`:
 * each requester's lock is held until it commits, so concurrent requests of one token, on any API
 * process, are counted one after the other and never admit more than the limit between them.
 * Locks are taken in key order, before any environment's (insertDeployments), so two
 * transactions never wait for each other.
 */
export async function insertDeploymentsWithinQuota (
  client: pg.PoolClient,
  items: readonly DeploymentToInsert[],
  maxQueued: number
): Promise<Array<DeploymentRow | QueuedWorkRefusal>> {
  const requesters = [...new Set(items.map((item) => item.deployment.requested_by))]
  await client.query('SELECT pg_advisory_xact_lock($1, key) FROM (SELECT DISTINCT hashtext(r) AS key FROM unnest($2::text[]) AS r ORDER BY 1) AS keys', [
    LOCK_NAMESPACES.queuedWork,
    requesters
  ])
  // A statement after the locks: its snapshot sees every deployment committed by an earlier holder.
  const { rows } = await client.query<{ requested_by: string; queued: number }>(
    `SELECT requested_by, count(*)::int AS queued FROM deployments
      WHERE status IN ('queued', 'running') AND requested_by = ANY($1::text[])
      GROUP BY requested_by`,
    [requesters]
  )
  const queued = new Map(rows.map((row) => [row.requested_by, row.queued]))
  const admitted: DeploymentToInsert[] = []
  const results: Array<DeploymentRow | QueuedWorkRefusal | undefined> = items.map((item) => {
    const requestedBy = item.deployment.requested_by
    const count = queued.get(requestedBy) ?? 0
    if (count >= maxQueued) return { refused: true, requestedBy, queued: count, max: maxQueued }
    queued.set(requestedBy, count + 1)
    admitted.push(item)
    return undefined
  })
  const inserted = admitted.length === 0 ? [] : await insertDeployments(client, admitted)
  let next = 0
  return results.map((result) => result ?? (inserted[next++] as DeploymentRow))
}
