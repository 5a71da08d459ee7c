import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { sha256Hex } from '../../lib/checksum.js'
import type { MigrationFile } from '../types.js'
import { orderByVersion } from './naming.js'

/** Where a project keeps its SQL files, tried in order: the first folder holding a `.sql` file wins. */
const CANDIDATE_FOLDERS = ['migrations', 'db/migration', 'sql', '.']

async function sqlFilesIn (folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { withFileTypes: true })
    return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.sql')).map((entry) => entry.name)
  } catch {
    return []
  }
}

/**
 * Reads a folder of `.sql` migrations (`V<version>__<name>.sql` or `<digits>_<name>.sql`) from
 * the project directory's `migrations/`, `db/migration/` (Flyway's default) or `sql/`, or the
 * directory itself, in version order. A migration's name is its file name without `.sql`; its
 * checksum is the sha256 of the raw bytes. Subfolders are not read.
 */
export async function readSqlMigrations (directory: string): Promise<MigrationFile[]> {
  for (const candidate of CANDIDATE_FOLDERS) {
    const folder = path.join(directory, candidate)
    const names = await sqlFilesIn(folder)
    if (names.length === 0) continue
    const files = await Promise.all(names.map(async (file) => {
      const bytes = await readFile(path.join(folder, file))
      return { name: file.slice(0, -'.sql'.length), sql: bytes.toString('utf8'), checksum: sha256Hex(bytes) }
    }))
    return orderByVersion(files, path.relative(path.dirname(directory), folder) || path.basename(folder))
  }
  throw new BadRequestError(`no SQL migrations found in ${path.basename(directory)}: expected migrations/V<version>__<name>.sql or migrations/<digits>_<name>.sql`, undefined, 'NO_MIGRATIONS_FOUND')
}

/** Inline uploads for the sql handler: names with or without `.sql`, in version order. */
export function orderSqlMigrations (migrations: MigrationFile[]): MigrationFile[] {
  const named = migrations.map((migration) => migration.name.endsWith('.sql') ? { ...migration, name: migration.name.slice(0, -'.sql'.length) } : migration)
  return orderByVersion(named, 'the uploaded migrations')
}
