import type { HistoryEntry, MigrationIdentity, MigrationStatus } from '../types.js'

/**
 * Compares the source with the target's history, the way `prisma migrate status` does:
 * finished rows are applied, unfinished ones failed, source files without a row pending,
 * and applied rows whose file changed or vanished are drift.
 */
export function computeStatus<T extends MigrationIdentity> (source: T[], history: HistoryEntry[], historyTableExists: boolean): MigrationStatus<T> {
  const sourceByName = new Map(source.map((file) => [file.name, file]))
  const applied: HistoryEntry[] = []
  const failed: HistoryEntry[] = []
  const seen = new Set<string>()
  for (const entry of history) {
    seen.add(entry.name)
    if (entry.finishedAt === null) failed.push(entry)
    else applied.push(entry)
  }
  const drifted: MigrationStatus<T>['drifted'] = []
  for (const entry of applied) {
    const file = sourceByName.get(entry.name)
    if (file === undefined) drifted.push({ name: entry.name, reason: 'missing_from_source', appliedChecksum: entry.checksum })
    else if (file.checksum !== entry.checksum) drifted.push({ name: entry.name, reason: 'checksum_changed', appliedChecksum: entry.checksum, sourceChecksum: file.checksum })
  }
  const pending = source.filter((file) => !seen.has(file.name))
  return { historyTableExists, applied, pending, failed, drifted }
}
