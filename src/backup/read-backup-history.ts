import { execa } from 'execa'
import { describeToolFailure } from '../lib/tool-failure.js'

export interface BackupHistoryEntry {
  name: string
  checksum: string
  finished: boolean
}

/** Undoes COPY text escaping (`\t`, `\n`, `\\`, …) of one field; `\N` is NULL. */
function unescapeCopyField (field: string): string | null {
  if (field === '\\N') return null
  return field.replace(/\\(.)/g, (_match, c: string) => ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', v: '\v', '\\': '\\' } as Record<string, string>)[c] ?? c)
}

/**
 * Reads the `_prisma_migrations` rows stored in a pg_dump archive, without touching any database:
 * `pg_restore --data-only --table=_prisma_migrations --file=-` prints the table's COPY block,
 * parsed here. Rows rolled back are left out, as Prisma ignores them. An archive taken before the
 * first deployment has no such table: an empty history.
 */
export async function readBackupHistory (file: string, pgRestorePath = 'pg_restore'): Promise<BackupHistoryEntry[]> {
  const result = await execa(pgRestorePath, ['--data-only', '--table=_prisma_migrations', '--file=-', file], { reject: false, timeout: 120_000 })
  if (result.failed) throw new Error(describeToolFailure('pg_restore --data-only', pgRestorePath, result, 'check backup.pg_restore_path'))
  const lines = result.stdout.split('\n')
  const start = lines.findIndex((line) => /^COPY \S*_prisma_migrations\S* \(/.test(line))
  if (start === -1) return []
  const columns = /\((.*)\) FROM stdin;$/.exec(lines[start] as string)?.[1]?.split(',').map((c) => c.trim().replace(/^"|"$/g, '')) ?? []
  const at = (name: string): number => columns.indexOf(name)
  const entries: BackupHistoryEntry[] = []
  for (const line of lines.slice(start + 1)) {
    if (line === '\\.') break
    const fields = line.split('\t').map(unescapeCopyField)
    if (fields[at('rolled_back_at')] !== null && at('rolled_back_at') !== -1) continue
    entries.push({ name: fields[at('migration_name')] ?? '', checksum: fields[at('checksum')] ?? '', finished: fields[at('finished_at')] !== null })
  }
  return entries
}
