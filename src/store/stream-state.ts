import { TERMINAL_STATUSES, type DeploymentStatus } from '../domain/index.js'
import type { Queryable } from './pool.js'

export interface StreamState {
  status: DeploymentStatus
  terminal: boolean
  /**
   * The id of the closing banner (`✅ COMPLETED`, `❌ FAILED`, `⛔ REJECTED`, …): the last log line
   * written at or after the deployment finished. Null while it runs, or in the instant between
   * the final status and its banner.
   */
  closingEventId: number | null
}

/** Where a deployment's event stream stands: finished, and which event is its last line. */
export async function readStreamState (db: Queryable, deploymentId: string): Promise<StreamState | undefined> {
  const { rows } = await db.query<{ status: DeploymentStatus, closing_event_id: number | null }>(
    `SELECT d.status,
            (SELECT max(e.id) FROM deployment_events e
              WHERE e.deployment_id = d.id AND e.type = 'banner' AND d.finished_at IS NOT NULL AND e.created_at >= d.finished_at) AS closing_event_id
       FROM deployments d WHERE d.id = $1`,
    [deploymentId]
  )
  const row = rows[0]
  if (row === undefined) return undefined
  return { status: row.status, terminal: TERMINAL_STATUSES.includes(row.status), closingEventId: row.closing_event_id }
}
