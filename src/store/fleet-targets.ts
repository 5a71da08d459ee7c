import type { NewEvent } from './events.js'
import type { Queryable } from './pool.js'

/** Where a fleet target is in its rollout (SPEC §14). */
export const FLEET_TARGET_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const
export type FleetTargetStatus = typeof FLEET_TARGET_STATUSES[number]

/** A row of `fleet_targets`. */
export interface FleetTargetRow {
  name: string
  position: number
  group_index: number | null
  status: FleetTargetStatus
  migrations_applied: number
  error: string | null
  report: Record<string, unknown> | null
}

/** Counts by status, and the total. */
export interface FleetSummary {
  total: number
  succeeded: number
  failed: number
  skipped: number
  running: number
  pending: number
}

/** A target as planned: its group, or (planning already decided it) its final status. */
export interface PlannedTarget {
  name: string
  group_index: number | null
  status: FleetTargetStatus
  error?: string | null
  report?: Record<string, unknown> | null
}

/** Records every target of a fleet's plan in one statement (a resumed plan writes nothing twice). */
export async function insertFleetTargets (db: Queryable, deploymentId: string, targets: readonly PlannedTarget[]): Promise<void> {
  const input = targets.map((t, position) => ({ ...t, position, error: t.error ?? null, report: t.report ?? null }))
  await db.query(
    `INSERT INTO fleet_targets (deployment_id, name, position, group_index, status, error, report, finished_at)
     SELECT $1, r.name, r.position, r.group_index, r.status, r.error, r.report,
            CASE WHEN r.status IN ('succeeded', 'failed', 'skipped') THEN now() END
       FROM jsonb_to_recordset($2::jsonb) AS r(name text, position int, group_index int, status text, error text, report jsonb)
     ON CONFLICT (deployment_id, name) DO NOTHING`,
    [deploymentId, JSON.stringify(input)]
  )
}

/** Every target of a fleet deployment, in plan order (the rollout's view: without reports). */
export async function listAllFleetTargets (db: Queryable, deploymentId: string): Promise<FleetTargetRow[]> {
  const { rows } = await db.query<FleetTargetRow>(
    `SELECT name, position, group_index, status, migrations_applied, error, NULL::jsonb AS report
       FROM fleet_targets WHERE deployment_id = $1 ORDER BY position`,
    [deploymentId]
  )
  return rows
}

/** One page of a fleet's targets, in plan order after `afterPosition`, optionally of one status. */
export async function listFleetTargets (
  db: Queryable, deploymentId: string, page: { status?: FleetTargetStatus | undefined, afterPosition: number, limit: number }
): Promise<FleetTargetRow[]> {
  const { rows } = await db.query<FleetTargetRow>(
    `SELECT name, position, group_index, status, migrations_applied, error, report
       FROM fleet_targets
      WHERE deployment_id = $1 AND position > $2 AND ($3::text IS NULL OR status = $3)
      ORDER BY position LIMIT $4`,
    [deploymentId, page.afterPosition, page.status ?? null, page.limit]
  )
  return rows
}

/**
 * Records how one target ended and, in the same statement, the deployment's event that says so
 * (its human-log line, with the fleet's live counts): one round trip per target.
 */
export async function finishFleetTarget (
  db: Queryable, deploymentId: string, name: string,
  outcome: { status: 'succeeded' | 'failed' | 'skipped', migrationsApplied: number, error: string | null, report: Record<string, unknown> },
  event: NewEvent
): Promise<void> {
  await db.query(
    `WITH logged AS (
       INSERT INTO deployment_events (deployment_id, type, actor, message, data) VALUES ($1, $7, $8, $9, $10)
     )
     UPDATE fleet_targets SET status = $3, migrations_applied = $4, error = $5, report = $6, finished_at = now()
      WHERE deployment_id = $1 AND name = $2`,
    [deploymentId, name, outcome.status, outcome.migrationsApplied, outcome.error, JSON.stringify(outcome.report),
      event.type, event.actor ?? null, event.message ?? null, event.data == null ? null : JSON.stringify(event.data)]
  )
}

/** Marks one target `running` as the rollout starts it. */
export async function markFleetTargetRunning (db: Queryable, deploymentId: string, name: string): Promise<void> {
  await db.query(
    `UPDATE fleet_targets SET status = 'running', started_at = COALESCE(started_at, now()) WHERE deployment_id = $1 AND name = $2`,
    [deploymentId, name]
  )
}

/** Marks every target not started yet as skipped, with why: one statement. */
export async function skipPendingFleetTargets (db: Queryable, deploymentId: string, reason: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE fleet_targets SET status = 'skipped', error = $2, finished_at = now()
      WHERE deployment_id = $1 AND status = 'pending'`,
    [deploymentId, reason]
  )
  return rowCount ?? 0
}

/** Counts a fleet deployment's targets by status; undefined when it has none (not a fleet, or not planned yet). */
export async function fleetSummary (db: Queryable, deploymentId: string): Promise<FleetSummary | undefined> {
  const { rows } = await db.query<{ status: FleetTargetStatus, n: number }>(
    'SELECT status, count(*)::int AS n FROM fleet_targets WHERE deployment_id = $1 GROUP BY status',
    [deploymentId]
  )
  if (rows.length === 0) return undefined
  const summary: FleetSummary = { total: 0, succeeded: 0, failed: 0, skipped: 0, running: 0, pending: 0 }
  for (const row of rows) {
    summary[row.status] = row.n
    summary.total += row.n
  }
  return summary
}

/** Targets of unfinished fleet deployments by environment and status, for the metrics. */
export async function countActiveFleetTargets (db: Queryable): Promise<Array<{ environment: string, status: FleetTargetStatus, n: number }>> {
  const { rows } = await db.query<{ environment: string, status: FleetTargetStatus, n: number }>(
    `SELECT d.environment, t.status, count(*)::int AS n
       FROM fleet_targets AS t JOIN deployments AS d ON d.id = t.deployment_id
      WHERE d.status IN ('queued', 'running', 'pending_approval')
      GROUP BY d.environment, t.status`
  )
  return rows
}

/** Records that `deploymentId` retries `retryOf` for `targets`. */
export async function insertFleetRetry (db: Queryable, deploymentId: string, retryOf: string, targets: readonly string[]): Promise<void> {
  await db.query('INSERT INTO fleet_retries (deployment_id, retry_of, targets) VALUES ($1, $2, $3)', [deploymentId, retryOf, targets])
}

/** The deployment a retry retries and the targets it covers, when `deploymentId` is a retry. */
export async function fleetRetryOf (db: Queryable, deploymentId: string): Promise<{ retry_of: string, targets: string[] } | undefined> {
  const { rows } = await db.query<{ retry_of: string, targets: string[] }>('SELECT retry_of, targets FROM fleet_retries WHERE deployment_id = $1', [deploymentId])
  return rows[0]
}

/** The names of the targets that did not succeed (failed, skipped), in plan order. */
export async function unsuccessfulFleetTargets (db: Queryable, deploymentId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT name FROM fleet_targets WHERE deployment_id = $1 AND status IN ('failed', 'skipped') ORDER BY position`,
    [deploymentId]
  )
  return rows.map((row) => row.name)
}

/** How many migrations a fleet deployment applied, over all its targets. */
export async function fleetMigrationsApplied (db: Queryable, deploymentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT COALESCE(sum(migrations_applied), 0)::int AS n FROM fleet_targets WHERE deployment_id = $1', [deploymentId])
  return rows[0]?.n ?? 0
}
