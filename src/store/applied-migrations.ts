import type { NewEvent } from './events.js'
import type { Queryable } from './pool.js'

/** The `target` of a row applied to the environment's own database (a deployment that is not a fleet's). */
export const OWN_DATABASE = ''

/**
 * Records a migration a deployment applied (checksum and duration) for gates and estimates, and,
 * when given, the deployment's event that says so (its human-log line) in the same statement: one
 * round trip to the control database per migration applied. A fleet deployment records one row
 * per migration per target (`target`: the target's name); a resumed apply records nothing twice.
 */
export async function recordAppliedMigration (
  db: Queryable,
  row: { environment: string; name: string; checksum: string; durationMs: number; deploymentId: string; target?: string | null },
  event?: NewEvent
): Promise<void> {
  const values = [row.environment, row.name, row.checksum, Math.round(row.durationMs), row.deploymentId, row.target ?? OWN_DATABASE]
  const recorded = `INSERT INTO applied_migrations (environment, migration_name, checksum, duration_ms, deployment_id, target) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (deployment_id, target, migration_name) DO NOTHING`
  if (event === undefined) {
    await db.query(recorded, values)
    return
  }
  await db.query(
    `WITH recorded AS (${recorded})
     INSERT INTO deployment_events (deployment_id, type, actor, message, data) VALUES ($7, $8, $9, $10, $11)`,
    [...values, event.deploymentId, event.type, event.actor ?? null, event.message ?? null, event.data == null ? null : JSON.stringify(event.data)]
  )
}

/** The most recent measured duration of each checksum, from any environment other than `excludeEnvironment`. */
export async function measuredDurations (
  db: Queryable,
  checksums: string[],
  excludeEnvironment: string
): Promise<Map<string, { durationMs: number; environment: string }>> {
  if (checksums.length === 0) return new Map()
  const { rows } = await db.query<{ checksum: string; duration_ms: number; environment: string }>(
    `SELECT DISTINCT ON (checksum) checksum, duration_ms, environment
       FROM applied_migrations WHERE checksum = ANY($1) AND environment <> $2
      ORDER BY checksum, applied_at DESC`,
    [checksums, excludeEnvironment]
  )
  return new Map(rows.map((row) => [row.checksum, { durationMs: row.duration_ms, environment: row.environment }]))
}

/** Of `checksums`, those applied successfully in `environment` by some deployment. */
export async function checksumsAppliedIn (db: Queryable, environment: string, checksums: string[]): Promise<Set<string>> {
  if (checksums.length === 0) return new Set()
  const { rows } = await db.query<{ checksum: string }>(
    'SELECT DISTINCT checksum FROM applied_migrations WHERE environment = $1 AND checksum = ANY($2)',
    [environment, checksums]
  )
  return new Set(rows.map((row) => row.checksum))
}

/**
 * What one deployment applied, in the order it applied them: names, durations and, for a fleet,
 * the target (one row per migration per target; `target` is '' for the environment's own database).
 */
export async function migrationsAppliedBy (db: Queryable, deploymentId: string): Promise<Array<{ name: string, durationMs: number, target: string }>> {
  const { rows } = await db.query<{ migration_name: string, duration_ms: number, target: string }>(
    'SELECT migration_name, duration_ms, target FROM applied_migrations WHERE deployment_id = $1 ORDER BY applied_at, target, migration_name',
    [deploymentId]
  )
  return rows.map((row) => ({ name: row.migration_name, durationMs: row.duration_ms, target: row.target }))
}
