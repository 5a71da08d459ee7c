import type { DeploymentRow } from '../domain/index.js'
import type { Queryable } from './pool.js'

/** A row of the notification outbox with the deployment it is about. */
export type NotificationRow = DeploymentRow & {
  event_id: number
  /** The moment: `pending_approval` or the final status (`succeeded`, `failed`, …). */
  kind: string
  occurred_at: Date
}

/**
 * Takes up to `limit` undispatched rows of the notification outbox, oldest first, locking them
 * (SKIP LOCKED: many workers share the work, each row goes to one). Call inside a transaction.
 */
export async function takeUndispatchedNotifications (db: Queryable, limit: number): Promise<NotificationRow[]> {
  const { rows } = await db.query<NotificationRow>(
    `SELECT n.event_id, n.kind, n.created_at AS occurred_at, d.*
       FROM deployment_notifications n JOIN deployments d ON d.id = n.deployment_id
      WHERE n.dispatched_at IS NULL
      ORDER BY n.event_id
      LIMIT $1
        FOR UPDATE OF n SKIP LOCKED`,
    [limit]
  )
  return rows
}

/** Marks outbox rows dispatched (their webhook deliveries are queued). */
export async function markNotificationsDispatched (db: Queryable, eventIds: number[]): Promise<void> {
  await db.query('UPDATE deployment_notifications SET dispatched_at = now() WHERE event_id = ANY($1)', [eventIds])
}
