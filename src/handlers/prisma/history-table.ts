import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { HistoryEntry } from '../types.js'
import type { HistoryTable } from '../shared/history-table.js'

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
 * Ordered by start time, like Prisma's own listing. Undefined when there is no table yet.
 */
export async function readHistory (client: pg.Client): Promise<HistoryEntry[] | undefined> {
  if (!await historyTableExists(client)) return undefined
  const { rows } = await client.query<{
    id: string
    migration_name: string
    checksum: string
    started_at: Date
    finished_at: Date | null
    logs: string | null
  }>(
    `SELECT id, migration_name, checksum, started_at, finished_at, logs
       FROM "_prisma_migrations"
      WHERE rolled_back_at IS NULL
      ORDER BY started_at, migration_name`
  )
  return rows.map((row) => ({
    id: row.id,
    name: row.migration_name,
    checksum: row.checksum,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    logs: row.logs
  }))
}

/**
 * `_prisma_migrations` with Prisma Migrate's row protocol: a UUID v4 id, the row inserted with
 * `applied_steps_count` 0 before the script runs, then `applied_steps_count = 1` and
 * `finished_at` set after it; `logs` holds the error of a failed one.
 */
export const prismaHistoryTable: HistoryTable = {
  name: '_prisma_migrations',
  ensure: async (client) => { await client.query(CREATE_PRISMA_MIGRATIONS_TABLE) },
  read: readHistory,
  async insertStarted (client, migration, wanted) {
    const id = wanted ?? randomUUID()
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
      [id, migration.checksum, migration.name]
    )
    return id
  },
  async markFinished (client, id) {
    await client.query('UPDATE "_prisma_migrations" SET applied_steps_count = 1, finished_at = clock_timestamp() WHERE id = $1', [id])
  },
  inTransactionSql (client, migration, wanted) {
    const id = client.escapeLiteral(wanted ?? randomUUID())
    return {
      started: `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (${id}, ${client.escapeLiteral(migration.checksum)}, ${client.escapeLiteral(migration.name)}, now(), 0)`,
      finished: `UPDATE "_prisma_migrations" SET applied_steps_count = 1, finished_at = clock_timestamp() WHERE id = ${id}`
    }
  },
  async markFailed (client, id, logs) {
    await client.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [id, logs])
  },
  async markUnfinishedFailed (client, name, logs) {
    await client.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL', [name, logs])
  },
  async markUnfinishedRolledBack (client, name) {
    const { rowCount } = await client.query('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL', [name])
    return rowCount ?? 0
  },
  async insertApplied (client, migration) {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ($1, $2, $3, now(), now(), 1)',
      [randomUUID(), migration.checksum, migration.name]
    )
  }
}
