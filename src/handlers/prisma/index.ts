import type pg from 'pg'
import { FailedMigrationPresentError, LockTimeoutError, MigrationFailedError } from '../../errors/index.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import { connectTarget } from '../target-connection.js'
import type { AppliedMigration, ApplyOptions, ApplyProgress, LockedTarget, MigrationFile, MigrationHandler, MigrationIdentity, MigrationStatus } from '../types.js'
import { analyzeMigrationSql, findInvalidIndexes, type SqlAnalysis } from '../../analysis/index.js'
import { applyMigrationInTransaction, ensureHistoryTable } from './apply-migration.js'
import { applyMigrationOutsideTransaction } from './apply-outside-transaction.js'
import { computeStatus } from './compute-status.js'
import { historyTableExists, PRISMA_ADVISORY_LOCK_KEY, readHistory } from './history-table.js'
import { describeLockHolders } from './lock-holders.js'
import { readPrismaMigrations } from './read-migrations.js'
import { resolveMigration } from './resolve-migration.js'

const QUERY_CANCELED = '57014'

async function readStatus<T extends MigrationIdentity> (client: pg.Client, source: T[]): Promise<MigrationStatus<T>> {
  const exists = await historyTableExists(client)
  const history = exists ? await readHistory(client) : []
  return computeStatus(source, history, exists)
}

/**
 * Takes Prisma's advisory lock on a dedicated connection that never opens a transaction, so the
 * lock outlives any failed migration and dies with the process if the worker is killed.
 */
async function takeAdvisoryLock (lockClient: pg.Client, waitMs: number): Promise<number> {
  const started = performance.now()
  await lockClient.query(`SET statement_timeout = ${Math.max(1, Math.trunc(waitMs))}`)
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY])
  } catch (error) {
    if ((error as { code?: string }).code === QUERY_CANCELED) {
      const holders = await describeLockHolders(lockClient, PRISMA_ADVISORY_LOCK_KEY)
      throw new LockTimeoutError(`timed out after ${Math.round(waitMs / 1000)}s waiting for the migration lock (pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY})) held by ${holders.text}`, holders.sessions)
    }
    throw error
  } finally {
    await lockClient.query('SET statement_timeout = 0').catch(() => {})
  }
  return performance.now() - started
}

/**
 * Parses every migration before running any (a syntax error stops the apply before it starts),
 * then applies them in order: in one transaction with the history row when PostgreSQL allows it,
 * otherwise statement by statement with Prisma's row protocol.
 */
async function applyAll (client: pg.Client, migrations: MigrationFile[], options: ApplyOptions, progress: ApplyProgress = {}): Promise<AppliedMigration[]> {
  const applied: AppliedMigration[] = []
  if (migrations.length === 0) return applied
  const analyses = await Promise.all(migrations.map(async (migration) => await analyzeMigrationSql(migration.sql)))
  analyses.forEach((analysis, index) => {
    if (analysis.parseError !== undefined) {
      const name = migrations[index]?.name ?? ''
      throw new MigrationFailedError(name, [], `syntax error${analysis.parseError.line === undefined ? '' : ` on line ${analysis.parseError.line}`}: ${analysis.parseError.message}`, '42601')
    }
  })
  await ensureHistoryTable(client)
  for (const [index, migration] of migrations.entries()) {
    const analysis = analyses[index] as SqlAnalysis
    await progress.onMigrationStart?.(migration)
    const started = performance.now()
    try {
      if (analysis.transactional && !analysis.managesOwnTransaction) await applyMigrationInTransaction(client, migration, options)
      else await applyMigrationOutsideTransaction(client, migration, analysis.statements, options)
    } catch (error) {
      const pgError = error as { message?: string, code?: string }
      const invalid = analysis.transactional ? [] : await findInvalidIndexes(client).catch(() => [])
      const invalidNote = invalid.length === 0 ? '' : `; invalid index left behind: ${invalid.map((i) => `${i.schema}.${i.index} on ${i.table}`).join(', ')} (drop it, or REINDEX it, before retrying)`
      throw new MigrationFailedError(migration.name, applied.map((m) => m.name), maskSecrets(`${pgError.message ?? String(error)}${invalidNote}`), pgError.code, error, !analysis.transactional || analysis.managesOwnTransaction)
    }
    const durationMs = performance.now() - started
    applied.push({ name: migration.name, durationMs })
    await progress.onMigrationApplied?.(migration, durationMs)
  }
  return applied
}

/** The Prisma Migrate handler: Prisma's folder layout, history table and lock, byte-compatible. */
export const prismaHandler: MigrationHandler = {
  tool: 'prisma',

  readSource: readPrismaMigrations,

  async status (databaseUrl, source) {
    const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer status' })
    try {
      return await readStatus(client, source)
    } finally {
      await client.end().catch(() => {})
    }
  },

  async lock (databaseUrl, { waitMs }): Promise<LockedTarget> {
    const lockClient = await connectTarget(databaseUrl, { applicationName: 'migration-deployer lock' })
    let workClient: pg.Client | undefined
    try {
      const lockWaitMs = await takeAdvisoryLock(lockClient, waitMs)
      workClient = await connectTarget(databaseUrl, { applicationName: 'migration-deployer apply' })
      const work = workClient
      return {
        lockWaitMs,
        status: async (source) => await readStatus(work, source),
        apply: async (migrations, options, progress) => {
          const failed = (await readHistory(work)).filter((entry) => entry.finishedAt === null)
          if (failed.length > 0) {
            throw new FailedMigrationPresentError(`migration ${failed[0]?.name ?? ''} failed earlier and is not resolved; resolve it first`, failed.map((f) => f.name))
          }
          return await applyAll(work, migrations, options, progress)
        },
        resolve: async (name, as, source) => await resolveMigration(work, name, as, source),
        release: async () => {
          await work.end().catch(() => {})
          // Ending the session releases the advisory lock even if the unlock query fails.
          await lockClient.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => {})
          await lockClient.end().catch(() => {})
        }
      }
    } catch (error) {
      await workClient?.end().catch(() => {})
      await lockClient.end().catch(() => {})
      throw error
    }
  }
}
