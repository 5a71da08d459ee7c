import type { DeploymentRow } from '../domain/index.js'
import type { FleetTargetStatus } from './fleet-targets.js'
import type { Queryable } from './pool.js'

/** A row of the notification outbox with the deployment it is about. */
export type NotificationRow = DeploymentRow & {
  event_id: number
  /** The moment: `pending_approval` or the final status (`succeeded`, `failed`, …). */
  kind: string
  occurred_at: Date
  /** What the metrics need, read with the row: the durations of the migrations the deployment applied (every target's). */
  applied_durations_ms: number[]
  /** A fleet deployment's targets by status (`{ "succeeded": 3 }`); empty when it has none. */
  fleet_target_counts: Partial<Record<FleetTargetStatus, number>>
}

/**
 * Takes up to `limit` undispatched rows of the notification outbox, oldest first, locking them
 * (SKIP LOCKED: many workers share the work, each row goes to one). Call inside a transaction.
 * The metrics' inputs come in the same statement: two queries less per finished deployment.
 */
export async function takeUndispatchedNotifications (db: Queryable, limit: number): Promise<NotificationRow[]> {
  const { rows } = await db.query<NotificationRow>(
    `SELECT n.event_id, n.kind, n.created_at AS occurred_at, d.*,
            ARRAY(SELECT a.duration_ms FROM applied_migrations a WHERE a.deployment_id = d.id) AS applied_durations_ms,
            (SELECT coalesce(jsonb_object_agg(f.status, f.n), '{}'::jsonb)
               FROM (SELECT status, count(*)::int AS n FROM fleet_targets WHERE deployment_id = d.id GROUP BY status) f) AS fleet_target_counts
       FROM deployment_notifications n JOIN deployments d ON d.id = n.deployment_id
      WHERE n.dispatched_at IS NULL
      ORDER BY n.event_id
      LIMIT $1
        FOR UPDATE OF n SKIP LOCKED`,
    [limit]
  )
  return rows
}

/** A row of the notification outbox about an environment (the drift watch), with its event's data. */
export interface EnvironmentNotificationRow {
  event_id: number
  environment: string
  /** `drift.detected` or `drift.resolved`. */
  kind: string
  occurred_at: Date
  data: Record<string, unknown> | null
}

/**
 * Takes up to `limit` undispatched environment-level rows of the outbox (no deployment), oldest
 * first, locked like takeUndispatchedNotifications. Call inside a transaction.
 */
export async function takeUndispatchedEnvironmentNotifications (db: Queryable, limit: number): Promise<EnvironmentNotificationRow[]> {
  const { rows } = await db.query<EnvironmentNotificationRow>(
    `SELECT n.event_id, n.environment, n.kind, n.created_at AS occurred_at, e.data
       FROM deployment_notifications n JOIN deployment_events e ON e.id = n.event_id
      WHERE n.dispatched_at IS NULL AND n.deployment_id IS NULL
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

/** Rows deleted per statement, so a first prune of a large backlog never holds long locks. */
const BATCH = 5000

/**
 * Deletes notification outbox rows (`deployment_notifications`) dispatched more than
 * `retentionMs` ago. Rows not yet dispatched stay whatever their age: they are still owed to
 * the webhooks. The audit trail (`deployment_events`, which each row points at) is never touched.
 * Returns the number of rows deleted.
 */
export async function pruneNotificationOutbox (db: Queryable, retentionMs: number): Promise<number> {
  let deleted = 0
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM deployment_notifications WHERE event_id IN (
         SELECT event_id FROM deployment_notifications
          WHERE dispatched_at IS NOT NULL AND dispatched_at < now() - make_interval(secs => $1::double precision / 1000)
          LIMIT $2)`,
      [retentionMs, BATCH]
    )
    deleted += rowCount ?? 0
    if ((rowCount ?? 0) < BATCH) return deleted
  }
}
