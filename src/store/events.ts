import type { ActorIdentity } from '../auth/identity.js'
import type { Queryable } from './pool.js'

export interface DeploymentEvent {
  id: number
  deployment_id: string | null
  environment: string | null
  type: string
  actor: string | null
  /** Issuer, subject and person of an OIDC or SSO actor (null for static tokens and the service). */
  actor_identity: ActorIdentity | null
  message: string | null
  data: Record<string, unknown> | null
  created_at: Date
}

export interface NewEvent {
  deploymentId: string
  type: string
  actor?: string | null
  actorIdentity?: ActorIdentity | null
  /** A line for the human log. */
  message?: string | null
  data?: Record<string, unknown> | null
}

/** Appends one event to the audit trail (the table rejects updates and deletes). */
export async function appendEvent (db: Queryable, event: NewEvent): Promise<DeploymentEvent> {
  const { rows } = await db.query<DeploymentEvent>(
    `INSERT INTO deployment_events (deployment_id, type, actor, actor_identity, message, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [event.deploymentId, event.type, event.actor ?? null, event.actorIdentity == null ? null : JSON.stringify(event.actorIdentity), event.message ?? null,
      event.data == null ? null : JSON.stringify(event.data)]
  )
  return rows[0] as DeploymentEvent
}

/** Appends an environment-level event (no deployment): resolving a migration, for example. */
export async function appendEnvironmentEvent (
  db: Queryable,
  event: { environment: string, type: string, actor: string, actorIdentity?: ActorIdentity | null | undefined, data: Record<string, unknown> }
): Promise<DeploymentEvent> {
  const { rows } = await db.query<DeploymentEvent>(
    'INSERT INTO deployment_events (environment, type, actor, actor_identity, data) VALUES ($1, $2, $3, $4, $5) RETURNING *',
    [event.environment, event.type, event.actor, event.actorIdentity == null ? null : JSON.stringify(event.actorIdentity), JSON.stringify(event.data)]
  )
  return rows[0] as DeploymentEvent
}

/** Whether a deployment already has an event of `type` recorded for `phase` (`data.phase`). */
export async function hasPhaseEvent (db: Queryable, deploymentId: string, type: string, phase: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM deployment_events WHERE deployment_id = $1 AND type = $2 AND data->>'phase' = $3 LIMIT 1`, [deploymentId, type, phase])
  return (rowCount ?? 0) > 0
}

/** Events of one deployment in order, optionally only those after an event id. */
export async function listEvents (db: Queryable, deploymentId: string, afterId = 0): Promise<DeploymentEvent[]> {
  const { rows } = await db.query<DeploymentEvent>(
    'SELECT * FROM deployment_events WHERE deployment_id = $1 AND id > $2 ORDER BY id',
    [deploymentId, afterId]
  )
  return rows
}

/** Only the human log lines, in order. */
export async function listLogLines (db: Queryable, deploymentId: string): Promise<string[]> {
  const { rows } = await db.query<{ message: string }>(
    'SELECT message FROM deployment_events WHERE deployment_id = $1 AND message IS NOT NULL ORDER BY id',
    [deploymentId]
  )
  return rows.map((row) => row.message)
}
