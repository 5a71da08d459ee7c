import { execa } from 'execa'
import { describeToolFailure } from '../lib/tool-failure.js'

/** What `pg_restore --list` says about an archive. */
export interface ArchiveToc {
  /** `TOC Entries:` from the header: every entry, including the encoding and settings pg_restore does not list. */
  tocEntries: number
  /** Listed objects (schemas, tables, data, constraints, …); 0 for a dump of an empty database. */
  listedEntries: number
}

/**
 * Reads an archive's table of contents with `pg_restore --list` (no database involved).
 * Throws a plain Error saying why (not found, unreadable, no table of contents); callers wrap it
 * in their own error class. The data blocks are not read: a dump cut short after its table of
 * contents still lists, and fails only when restored.
 */
export async function readArchiveToc (file: string, pgRestorePath: string): Promise<ArchiveToc> {
  const result = await execa(pgRestorePath, ['--list', file], { reject: false, timeout: 120_000 })
  if (result.failed) throw new Error(describeToolFailure('pg_restore --list', pgRestorePath, result, 'check backup.pg_restore_path'))
  const header = /TOC Entries:\s*(\d+)/.exec(result.stdout)
  const tocEntries = header === null ? 0 : Number(header[1])
  // A dump of an empty database lists no object but still has its settings entries: it is a valid,
  // restorable backup (the first deployment to a new production database takes exactly that one).
  if (tocEntries === 0) throw new Error(`pg_restore --list found no table of contents in ${file}`)
  const listedEntries = result.stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith(';')).length
  return { tocEntries, listedEntries }
}
