import { randomBytes } from 'node:crypto'

/** `backup-YYYYMMDD-HHMMSS-xxxx`: UTC time to the second, then 4 random hex digits. */
export const BACKUP_ID_PATTERN = /^backup-\d{8}-\d{6}-[0-9a-f]{4}$/

/**
 * A new backup id, like `backup-20250124-103000-9f3c` (SPEC §6's `backup-20250124-103000`
 * plus a suffix). The suffix is always there: ids are the `backups` table's key across every
 * environment and machine, so "unique in this directory" would not be enough.
 */
export function newBackupId (now: Date = new Date()): string {
  const iso = now.toISOString() // 2025-01-24T10:30:00.000Z
  const date = iso.slice(0, 10).replaceAll('-', '')
  const time = iso.slice(11, 19).replaceAll(':', '')
  return `backup-${date}-${time}-${randomBytes(2).toString('hex')}`
}
