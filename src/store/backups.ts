import type { Queryable } from './pool.js'

/** A row of `backups`. */
export interface BackupRow {
  id: string
  environment: string
  deployment_id: string | null
  provider: 'pg_dump' | 'command'
  file: string | null
  size_bytes: number | null
  duration_ms: number
  verified: boolean
  server_version: string | null
  /** The one schema the dump holds (the target URL's `?schema=`); null for the whole database. */
  schema: string | null
  created_at: Date
  deleted_at: Date | null
  /** The fleet target it backs up (SPEC §14); null for a single-database environment. */
  target?: string | null
}

// BIGINT arrives as a string unless the control pool's type parser is installed: normalize here.
function normalize (row: BackupRow): BackupRow {
  return { ...row, size_bytes: row.size_bytes === null ? null : Number(row.size_bytes) }
}

/** `created_at` defaults to now. */
export type NewBackup = Omit<BackupRow, 'created_at' | 'deleted_at'> & { created_at?: Date | undefined }

/** Records a backup that was taken (and, for pg_dump, verified). */
export async function recordBackup (db: Queryable, backup: NewBackup): Promise<BackupRow> {
  const { rows } = await db.query<BackupRow>(
    `INSERT INTO backups (id, environment, deployment_id, provider, file, size_bytes, duration_ms, verified, server_version, schema, created_at, target)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, now()), $12)
     RETURNING *`,
    [backup.id, backup.environment, backup.deployment_id, backup.provider, backup.file, backup.size_bytes,
      Math.round(backup.duration_ms), backup.verified, backup.server_version, backup.schema, backup.created_at ?? null, backup.target ?? null]
  )
  return normalize(rows[0] as BackupRow)
}

/** The environment's backups that still exist (not pruned), newest first. */
export async function listBackups (db: Queryable, environment: string, options: { limit: number, offset?: number }): Promise<BackupRow[]> {
  const { rows } = await db.query<BackupRow>(
    `SELECT * FROM backups WHERE environment = $1 AND deleted_at IS NULL
      ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [environment, options.limit, options.offset ?? 0]
  )
  return rows.map(normalize)
}

/** One backup by id, pruned or not (check `deleted_at`). */
export async function getBackup (db: Queryable, id: string): Promise<BackupRow | undefined> {
  const { rows } = await db.query<BackupRow>('SELECT * FROM backups WHERE id = $1', [id])
  return rows[0] === undefined ? undefined : normalize(rows[0])
}

/** The backup a deployment already took (before an interruption), if any; of one fleet target when given. */
export async function backupOfDeployment (db: Queryable, deploymentId: string, target: string | null = null): Promise<BackupRow | undefined> {
  const { rows } = await db.query<BackupRow>(
    'SELECT * FROM backups WHERE deployment_id = $1 AND target IS NOT DISTINCT FROM $2 AND deleted_at IS NULL ORDER BY created_at LIMIT 1',
    [deploymentId, target]
  )
  return rows[0] === undefined ? undefined : normalize(rows[0])
}

/** Marks a backup as pruned; false when it was already marked (another worker pruned it). */
export async function markBackupDeleted (db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE backups SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [id])
  return rowCount === 1
}
