import type pg from 'pg'
import type { ApplyOptions, MigrationFile } from '../types.js'
import type { HistoryTable } from './history-table.js'

/**
 * Applies one migration in its own transaction together with its history row: insert the row,
 * run the script, then mark the row finished. If anything fails the transaction rolls back, so
 * neither the schema change nor the row remains.
 *
 * The whole transaction goes to PostgreSQL as ONE simple query, one round trip per migration
 * (values are literals: the history table escapes them). SET LOCAL lasts until the end of this
 * transaction: each migration gets the configured bounds, and since PostgreSQL 13 the statement
 * timeout applies to each statement of a multi-statement query. The script parsed already (a file
 * that does not is refused before any runs), so it is whole statements; the newline and `;`
 * after it end its last statement and any trailing `--` comment. PostgreSQL stops at the first
 * failing statement and skips the rest, COMMIT included: the ROLLBACK below ends that transaction.
 */
export async function applyMigrationInTransaction (client: pg.Client, table: HistoryTable, migration: MigrationFile, options: ApplyOptions): Promise<void> {
  const { started, finished } = table.inTransactionSql(client, migration, options.historyIdFor?.(migration))
  const transaction = `BEGIN; SET LOCAL lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs))}; SET LOCAL statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}; ${started};\n` +
    `${migration.sql}\n;\n${finished}; COMMIT;`
  try {
    await client.query(transaction)
  } catch (error) {
    // Also ends a transaction whose COMMIT itself failed (a deferred constraint): that rolled back already.
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}
