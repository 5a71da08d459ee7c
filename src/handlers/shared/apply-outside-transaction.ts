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
 */
export async function applyMigrationOutsideTransaction (
  client: pg.Client,
  table: HistoryTable,
  migration: MigrationFile,
  statements: AnalyzedStatement[],
  options: ApplyOptions
): Promise<void> {
  const id = await table.insertStarted(client, migration, options.historyIdFor?.(migration))
  try {
    // Session-level settings: there is no transaction to scope them to.
    await client.query(`SET lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs))}`)
    await client.query(`SET statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}`)
    for (const statement of statements) {
      await client.query(statement.sql)
    }
    await table.markFinished(client, id)
  } catch (error) {
    // A file that opened its own transaction may have failed inside it: end it so the row update lands.
    await client.query('ROLLBACK').catch(() => {})
    await table.markFailed(client, id, maskSecrets((error as Error).message)).catch(() => {})
    throw error
  } finally {
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {})
  }
}
