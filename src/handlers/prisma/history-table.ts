import type pg from 'pg'
import type { HistoryEntry } from '../types.js'

/** The key Prisma Migrate passes to `pg_advisory_lock`, so our applies and `prisma migrate deploy` exclude each other. */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369

/** `_prisma_migrations` exactly as Prisma 6's schema engine creates it on PostgreSQL. */
export const CREATE_PRISMA_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

/** Whether the history table exists in the connection's current schema search path. */
export async function historyTableExists (client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS "exists"`)
  return rows[0]?.exists === true
}

/**
 * Reads the history rows that count: rows with `rolled_back_at` set are ignored, as Prisma does.
 * Ordered by start time, like Prisma's own listing.
 */
export async function readHistory (client: pg.Client): Promise<HistoryEntry[]> {
  if (!await historyTableExists(client)) return []
  const { rows } = await client.query<{ id: string, migration_name: string, checksum: string, started_at: Date, finished_at: Date | null, logs: string | null }>(
    `SELECT id, migration_name, checksum, started_at, finished_at, logs
       FROM "_prisma_migrations"
      WHERE rolled_back_at IS NULL
      ORDER BY started_at, migration_name`
  )
  return rows.map((row) => ({ id: row.id, name: row.migration_name, checksum: row.checksum, startedAt: row.started_at, finishedAt: row.finished_at, logs: row.logs }))
}
