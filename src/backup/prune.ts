import { unlink } from 'node:fs/promises'
import { listBackups, markBackupDeleted } from '../store/backups.js'
import type { Queryable } from '../store/pool.js'
import { BackupError } from './backup-error.js'

/**
 * Keeps the newest `keep` backups of an environment (`backup.keep`) and removes the rest: each
 * file is deleted, then its row marked deleted (the row stays, for the audit trail). A file that
 * is already gone counts as deleted. Returns the ids removed, oldest last.
 *
 * Files that cannot be deleted keep their row unmarked, so the next prune tries again; after
 * trying every one, that is a `BackupError` whose `details` hold `{ removed, failed }`.
 * Two workers pruning at once is harmless: a row already marked by the other is not reported twice.
 */
export async function pruneBackups (db: Queryable, environment: string, keep: number): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 0) throw new BackupError(`backup.keep must be a whole number ≥ 0, got ${keep}`)
  const surplus = await listBackups(db, environment, { limit: 10_000, offset: keep })
  const removed: string[] = []
  const failed: Array<{ id: string, file: string | null, error: string }> = []
  for (const backup of surplus) {
    if (backup.file !== null) {
      try {
        await unlink(backup.file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          failed.push({ id: backup.id, file: backup.file, error: (error as Error).message })
          continue
        }
      }
    }
    if (await markBackupDeleted(db, backup.id)) removed.push(backup.id)
  }
  if (failed.length > 0) {
    throw new BackupError(`could not delete ${failed.length} old backup file(s) of ${environment}: ${failed.map((f) => `${f.file ?? f.id}: ${f.error}`).join('; ')}`, { details: { removed, failed } })
  }
  return removed
}
