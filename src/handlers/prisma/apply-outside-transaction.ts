import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { AnalyzedStatement } from '../../analysis/index.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import type { ApplyOptions, MigrationFile } from '../types.js'

/**
 * Applies a migration that cannot run in one transaction (it holds `CREATE INDEX CONCURRENTLY`
 * and the like, or issues its own BEGIN/COMMIT) exactly as Prisma Migrate does: insert the
 * history row first, run the statements one by one, then set `finished_at`. On failure the row
 * stays with `finished_at` NULL and the error in `logs`, which blocks later deploys until it is
 * resolved (`POST /environments/:name/migrations/:migration/resolve`).
 */
export async function applyMigrationOutsideTransaction (client: pg.Client, migration: MigrationFile, statements: AnalyzedStatement[], options: ApplyOptions): Promise<void> {
  const id = randomUUID()
  await client.query(
    'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
    [id, migration.checksum, migration.name]
  )
  try {
    // Session-level settings: there is no transaction to scope them to.
    await client.query(`SET lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs))}`)
    await client.query(`SET statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}`)
    for (const statement of statements) {
      await client.query(statement.sql)
    }
    await client.query('UPDATE "_prisma_migrations" SET applied_steps_count = 1, finished_at = clock_timestamp() WHERE id = $1', [id])
  } catch (error) {
    // A file that opened its own transaction may have failed inside it: end it so the row update lands.
    await client.query('ROLLBACK').catch(() => {})
    await client.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [id, maskSecrets((error as Error).message)]).catch(() => {})
    throw error
  } finally {
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {})
  }
}
