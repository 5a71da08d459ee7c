import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { AnalyzedStatement } from '../../analysis/index.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import type { ApplyOptions, MigrationFile } from '../types.js'
import type { HistoryTable } from './history-table.js'

/**
 * Applies a migration that cannot run in one transaction (it holds `CREATE INDEX CONCURRENTLY`
 * and the like, or issues its own BEGIN/COMMIT) exactly as Prisma Migrate does: insert the
 * history row first, run the statements one by one, then mark the row finished. On failure the
 * row stays unfinished with the error in `logs`, which blocks later deploys until it is resolved
 * (`POST /environments/:name/migrations/:migration/resolve`).
 *
 * Round trips: the session's bounds and the row's insert go as one simple query (committed
 * before any statement runs, as an implicit transaction of their own), then each statement alone
 * (PostgreSQL refuses CONCURRENTLY in a multi-statement query), then the row's update and the
 * bounds' reset as one: 2 + statements, where one query per step took 5 + statements.
 */
export async function applyMigrationOutsideTransaction (
  client: pg.Client,
  table: HistoryTable,
  migration: MigrationFile,
  statements: AnalyzedStatement[],
  options: ApplyOptions
): Promise<void> {
  const { started, finished } = table.inTransactionSql(client, migration, options.historyIdFor?.(migration) ?? randomUUID())
  // Session-level settings: there is no transaction to scope them to.
  const bounds = `SET lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs))}; SET statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}`
  let rowInserted = false
  try {
    await client.query(`${bounds}; ${started}`)
    rowInserted = true
    for (const statement of statements) {
      await client.query(statement.sql)
    }
    await client.query(`${finished}; RESET lock_timeout; RESET statement_timeout`)
  } catch (error) {
    // A file that opened its own transaction may have failed inside it: end it so the row update lands.
    await client.query('ROLLBACK').catch(() => {})
    if (rowInserted) await table.markUnfinishedFailed(client, migration.name, maskSecrets((error as Error).message)).catch(() => {})
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {})
    throw error
  }
}
