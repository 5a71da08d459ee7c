import type pg from 'pg'
import { FailedMigrationPresentError } from '../../errors/index.js'
import { parseSchemaUrl } from '../../lib/schema-url.js'
import { connectTarget } from '../../lib/target-connection.js'
import type { LockedTarget, MigrationFile, MigrationHandler, MigrationIdentity, MigrationStatus } from '../types.js'
import { takeAdvisoryLock, type HeldAdvisoryLock } from './advisory-lock.js'
import { applyAll } from './apply-all.js'
import { computeStatus } from './compute-status.js'
import { ensureNamedSchema } from '../../lib/ensure-schema.js'
import type { HistoryTable } from './history-table.js'
import { resolveMigration } from './resolve-migration.js'

/** What distinguishes one SQL-applying handler from another: its files, its table and its lock. */
export interface HistoryHandlerSpec {
  tool: string
  readSource: (directory: string, workspaceRoot?: string) => Promise<MigrationFile[]>
  checkSource?: (directory: string, workspaceRoot?: string) => Promise<void>
  orderSource: (migrations: MigrationFile[]) => MigrationFile[]
  table: HistoryTable
  lockKey: number
}

async function readStatus<T extends MigrationIdentity> (client: pg.Client, table: HistoryTable, source: T[]): Promise<MigrationStatus<T>> {
  const history = await table.read(client)
  return computeStatus(source, history ?? [], history !== undefined)
}

/**
 * A handler that applies SQL files itself and records them in its own history table (Prisma's
 * `_prisma_migrations`, the sql handler's `migration_deployer_history`): status read without
 * locking, apply and resolve under an advisory lock held on a dedicated connection while a second
 * connection does the work. A URL with Prisma's `schema` parameter works in that schema (the
 * connections' search path), created when missing before anything is written, as Prisma does;
 * status only reads, so a missing schema is a database without history.
 */
export function createHistoryHandler (spec: HistoryHandlerSpec): MigrationHandler {
  const { table } = spec
  return {
    tool: spec.tool,
    readSource: spec.readSource,
    ...(spec.checkSource === undefined ? {} : { checkSource: spec.checkSource }),
    orderSource: spec.orderSource,

    async status (databaseUrl, source) {
      const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer status' })
      try {
        return await readStatus(client, table, source)
      } finally {
        await client.end().catch(() => {})
      }
    },

    statusOn: async (client, source) => await readStatus(client, table, source),

    async lock (databaseUrl, { waitMs }): Promise<LockedTarget> {
      const schemaUrl = parseSchemaUrl(databaseUrl)
      const lock: HeldAdvisoryLock = await takeAdvisoryLock(databaseUrl, spec.lockKey, waitMs)
      let work: pg.Client
      try {
        work = await connectTarget(databaseUrl, { applicationName: 'migration-deployer apply' })
      } catch (error) {
        await lock.release()
        throw error
      }
      return {
        lockWaitMs: lock.waitMs,
        status: async (source) => await readStatus(work, table, source),
        apply: async (migrations, options, progress) => {
          const failed = ((await table.read(work)) ?? []).filter((entry) => entry.finishedAt === null)
          if (failed.length > 0) {
            throw new FailedMigrationPresentError(`migration ${failed[0]?.name ?? ''} failed earlier and is not resolved; resolve it first`, failed.map((f) => f.name))
          }
          await ensureNamedSchema(work, schemaUrl)
          return await applyAll(work, table, migrations, options, progress)
        },
        resolve: async (name, as, source) => {
          await ensureNamedSchema(work, schemaUrl)
          return await resolveMigration(work, table, name, as, source)
        },
        release: async () => {
          await work.end().catch(() => {})
          await lock.release()
        }
      }
    }
  }
}
