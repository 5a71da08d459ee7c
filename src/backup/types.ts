/** The backup providers that produce something (`none` produces nothing and never calls this library). */
export type BackupProvider = 'pg_dump' | 'command'

/** What a backup produced, whichever provider took it. */
export interface BackupResult {
  /** `backup-YYYYMMDD-HHMMSS-xxxx`, the `backup_id` of the report and the `backups` row's key. */
  backupId: string
  provider: BackupProvider
  /** Absolute path of the dump; null for the command provider (the tool keeps its own). */
  file: string | null
  /** Size of the dump in bytes; null for the command provider. */
  sizeBytes: number | null
  /** Wall time of the whole backup: version checks, dump and verification. */
  durationMs: number
  /** True when `pg_restore --list` read the dump back; the command provider cannot be verified (false). */
  verified: boolean
  /** The server's version (`15.18`); null for the command provider. */
  serverVersion: string | null
  /** The pg_dump that wrote it (`15.18`); null for the command provider. */
  pgDumpVersion: string | null
  /**
   * The one schema a pg_dump holds, when the target URL names one other than public (Prisma's
   * `?schema=`); null for a dump of the whole database and for the command provider.
   */
  schema: string | null
  /** What the tool printed (stdout and stderr interleaved, masked), for the human log. */
  output: string
}
