import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { ApplyOptions, MigrationFile } from '../types.js'
import { CREATE_PRISMA_MIGRATIONS_TABLE } from './history-table.js'

/** Creates `_prisma_migrations` if it is missing (Prisma does this on the first deploy too). */
export async function ensureHistoryTable (client: pg.Client): Promise<void> {
  await client.query(CREATE_PRISMA_MIGRATIONS_TABLE)
}

/**
 * Applies one migration in its own transaction together with its history row, in Prisma's
 * order: insert the row, run the script, then set `applied_steps_count` and `finished_at`.
 * If anything fails the transaction rolls back, so neither the schema change nor the row remains.
 */
export async function applyMigrationInTransaction (client: pg.Client, migration: MigrationFile, options: ApplyOptions): Promise<void> {
  const id = options.historyIdFor?.(migration) ?? randomUUID()
  await client.query('BEGIN')
  try {
    // SET LOCAL lasts until the end of this transaction only: each migration gets the configured bounds.
    await client.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs))}`)
    await client.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}`)
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
      [id, migration.checksum, migration.name]
    )
    // The simple query protocol (no parameters) runs the whole multi-statement script.
    await client.query(migration.sql)
    await client.query('UPDATE "_prisma_migrations" SET applied_steps_count = 1, finished_at = clock_timestamp() WHERE id = $1', [id])
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}
