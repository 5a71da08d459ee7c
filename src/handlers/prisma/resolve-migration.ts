import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { ConflictError, NotFoundError } from '../../errors/index.js'
import type { MigrationFile } from '../types.js'
import { ensureHistoryTable } from './apply-migration.js'

export type ResolveAs = 'applied' | 'rolled_back'

/**
 * `prisma migrate resolve`: `rolled_back` marks a failed migration's rows as rolled back (so it
 * is pending again); `applied` marks failed rows rolled back and records the migration as
 * applied with the checksum of its file, for when the change was completed by hand.
 */
export async function resolveMigration (client: pg.Client, name: string, as: ResolveAs, source: MigrationFile[]): Promise<{ rowsChanged: number }> {
  await ensureHistoryTable(client)
  const { rows } = await client.query<{ id: string, finished_at: Date | null }>(
    'SELECT id, finished_at FROM "_prisma_migrations" WHERE migration_name = $1 AND rolled_back_at IS NULL', [name]
  )
  const failed = rows.filter((row) => row.finished_at === null)
  const applied = rows.filter((row) => row.finished_at !== null)
  if (as === 'rolled_back') {
    if (failed.length === 0) {
      throw new ConflictError(`migration ${name} is not in a failed state, so it cannot be marked rolled back${applied.length > 0 ? ' (it is applied)' : ''}`, undefined, 'NOT_FAILED')
    }
    const { rowCount } = await client.query('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL', [name])
    return { rowsChanged: rowCount ?? 0 }
  }
  if (applied.length > 0) throw new ConflictError(`migration ${name} is already recorded as applied`, undefined, 'ALREADY_APPLIED')
  const file = source.find((m) => m.name === name)
  if (file === undefined) throw new NotFoundError(`migration ${name} is not in the environment's migrations folder; its checksum is needed to record it as applied`)
  await client.query('BEGIN')
  try {
    await client.query('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL', [name])
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ($1, $2, $3, now(), now(), 1)`,
      [randomUUID(), file.checksum, name]
    )
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
  return { rowsChanged: failed.length + 1 }
}
