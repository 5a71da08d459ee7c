import type pg from 'pg'
import { analyzeMigrationSqlCached, describeRefused, findInvalidIndexes, refusedStatements, type SqlAnalysis } from '../../analysis/index.js'
import { MigrationFailedError, StatementNotAllowedError } from '../../errors/index.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import type { AppliedMigration, ApplyOptions, ApplyProgress, MigrationFile } from '../types.js'
import { applyMigrationInTransaction } from './apply-in-transaction.js'
import { applyMigrationOutsideTransaction } from './apply-outside-transaction.js'
import type { HistoryTable } from './history-table.js'

/**
 * Parses every migration before running any (a syntax error, or a statement that reaches beyond
 * the database and is not in `options.allowStatements`, stops the apply before it starts),
 * then applies them in order: in one transaction with the history row when PostgreSQL allows it,
 * otherwise statement by statement with Prisma's row protocol.
 */
export async function applyAll (
  client: pg.Client,
  table: HistoryTable,
  migrations: MigrationFile[],
  options: ApplyOptions,
  progress: ApplyProgress = {}
): Promise<AppliedMigration[]> {
  const applied: AppliedMigration[] = []
  if (migrations.length === 0) return applied
  const analyses = await Promise.all(migrations.map(async (migration) => await analyzeMigrationSqlCached(migration.sql)))
  analyses.forEach((analysis, index) => {
    if (analysis.parseError !== undefined) {
      const name = migrations[index]?.name ?? ''
      throw new MigrationFailedError(
        name,
        [],
        `syntax error${analysis.parseError.line === undefined ? '' : ` on line ${analysis.parseError.line}`}: ${analysis.parseError.message}`,
        '42601'
      )
    }
  })
  // The plan refused these already; this is the last gate before SQL reaches the target.
  const allowed = options.allowStatements ?? []
  const refused = migrations.flatMap((migration, index) => refusedStatements(migration.name, (analyses[index] as SqlAnalysis).escapes, allowed))
  if (refused.length > 0) {
    const message = `Refused, nothing applied: statements that reach beyond the database: ${describeRefused(refused)}`
    throw new StatementNotAllowedError(message, { refused_statements: refused })
  }
  await table.ensure(client)
  for (const [index, migration] of migrations.entries()) {
    const analysis = analyses[index] as SqlAnalysis
    await progress.onMigrationStart?.(migration)
    const started = performance.now()
    try {
      if (analysis.transactional && !analysis.managesOwnTransaction) await applyMigrationInTransaction(client, table, migration, options)
      else await applyMigrationOutsideTransaction(client, table, migration, analysis.statements, options)
    } catch (error) {
      const pgError = error as { message?: string; code?: string }
      const invalid = analysis.transactional ? [] : await findInvalidIndexes(client).catch(() => [])
      const invalidNote =
        invalid.length === 0
          ? ''
          : `; invalid index left behind: ${invalid.map((i) => `${i.schema}.${i.index} on ${i.table}`).join(', ')} (drop it, or REINDEX it, before retrying)`
      throw new MigrationFailedError(
        migration.name,
        applied.map((m) => m.name),
        maskSecrets(`${pgError.message ?? String(error)}${invalidNote}`),
        pgError.code,
        error,
        !analysis.transactional || analysis.managesOwnTransaction
      )
    }
    const durationMs = performance.now() - started
    applied.push({ name: migration.name, durationMs })
    await progress.onMigrationApplied?.(migration, durationMs)
  }
  return applied
}
