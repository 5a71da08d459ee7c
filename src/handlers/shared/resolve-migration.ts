import type pg from 'pg'
import { ConflictError, NotFoundError } from '../../errors/index.js'
import type { MigrationFile } from '../types.js'
import type { HistoryTable } from './history-table.js'

export type ResolveAs = 'applied' | 'rolled_back'

/**
 * `prisma migrate resolve`: `rolled_back` marks a failed migration's rows as rolled back (so it
 * is pending again); `applied` marks failed rows rolled back and records the migration as
 * applied with the checksum of its file, for when the change was completed by hand.
 */
export async function resolveMigration (
  client: pg.Client,
  table: HistoryTable,
  name: string,
  as: ResolveAs,
  source: MigrationFile[]
): Promise<{ rowsChanged: number }> {
  await table.ensure(client)
  const rows = ((await table.read(client)) ?? []).filter((row) => row.name === name)
  const failed = rows.filter((row) => row.finishedAt === null)
  const applied = rows.filter((row) => row.finishedAt !== null)
  if (as === 'rolled_back') {
    if (failed.length === 0) {
      throw new ConflictError(
        `migration ${name} is not in a failed state, so it cannot be marked rolled back${applied.length > 0 ? ' (it is applied)' : ''}`,
        undefined,
        'NOT_FAILED'
      )
    }
    return { rowsChanged: await table.markUnfinishedRolledBack(client, name) }
  }
  if (applied.length > 0) throw new ConflictError(`migration ${name} is already recorded as applied`, undefined, 'ALREADY_APPLIED')
  const file = source.find((m) => m.name === name)
  if (file === undefined) { throw new NotFoundError(`migration ${name} is not in the environment's migrations folder; its checksum is needed to record it as applied`) }
  await client.query('BEGIN')
  try {
    await table.markUnfinishedRolledBack(client, name)
    await table.insertApplied(client, file)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
  return { rowsChanged: failed.length + 1 }
}
