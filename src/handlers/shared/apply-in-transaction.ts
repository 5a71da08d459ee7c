import type pg from 'pg'
import type { ApplyOptions, MigrationFile } from '../types.js'
import type { HistoryTable } from './history-table.js'

/**
 * Applies one migration in its own transaction together with its history row: insert the row,
 * run the script, then mark the row finished. If anything fails the transaction rolls back, so
 * neither the schema change nor the row remains.
 */
export async function applyMigrationInTransaction (client: pg.Client, table: HistoryTable, migration: MigrationFile, options: ApplyOptions): Promise<void> {
  await client.query('BEGIN')
  try {
    // SET LOCAL lasts until the end of this transaction only: each migration gets the configured bounds.
    await client.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs))}`)
    await client.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}`)
    const id = await table.insertStarted(client, migration, options.historyIdFor?.(migration))
    // The simple query protocol (no parameters) runs the whole multi-statement script.
    await client.query(migration.sql)
    await table.markFinished(client, id)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}
