import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { confineTo, type Confinement } from '../../lib/confined-path.js'
import type { MigrationFile } from '../types.js'
import { readMigrationFile } from '../shared/read-migration-file.js'
import { orderByVersion } from './naming.js'

/** Where a project keeps its SQL files, tried in order: the first folder holding a `.sql` file wins. */
const CANDIDATE_FOLDERS = ['migrations', 'db/migration', 'sql', '.']

/**
 * The `.sql` files of a folder, each with the real path to read. The folder and every file are
 * resolved inside the workspace first: a symlink leading out is refused (naming it), one that
 * stays inside is followed.
 */
async function sqlFilesIn (confinement: Confinement, folder: string): Promise<Array<{ file: string, real: string }>> {
  let real: string
  let entries
  try {
    real = confinement.realpath(folder)
    entries = await readdir(real, { withFileTypes: true })
  } catch (error) {
    if (error instanceof BadRequestError) throw error
    return []
  }
  const files = entries.filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith('.sql'))
  const resolved = await Promise.all(files.map(async (entry) => {
    if (entry.isFile()) return { file: entry.name, real: path.join(real, entry.name) }
    const target = linkedFile(confinement, path.join(folder, entry.name))
    return target !== undefined && (await stat(target)).isFile() ? { file: entry.name, real: target } : undefined
  }))
  return resolved.filter((file) => file !== undefined)
}

/** Where a symlinked entry leads, inside the workspace; undefined when its target is missing. */
function linkedFile (confinement: Confinement, link: string): string | undefined {
  try {
    return confinement.realpath(link)
  } catch (error) {
    if (error instanceof BadRequestError) throw error
    return undefined
  }
}

/**
 * Reads a folder of `.sql` migrations (`V<version>__<name>.sql` or `<digits>_<name>.sql`) from
 * the project directory's `migrations/`, `db/migration/` (Flyway's default) or `sql/`, or the
 * directory itself, in version order. A migration's name is its file name without `.sql`; its
 * checksum is the sha256 of the raw bytes. Subfolders are not read, nor anything outside
 * `workspaceRoot` (default: the directory itself), whatever the symlinks say.
 */
export async function readSqlMigrations (directory: string, workspaceRoot?: string): Promise<MigrationFile[]> {
  const confinement = confineTo(workspaceRoot ?? directory)
  for (const candidate of CANDIDATE_FOLDERS) {
    const folder = path.join(directory, candidate)
    const found = await sqlFilesIn(confinement, folder)
    if (found.length === 0) continue
    const files = found.map(({ file, real }) => {
      const { sql, checksum } = readMigrationFile(real)
      return { name: file.slice(0, -'.sql'.length), sql, checksum }
    })
    return orderByVersion(files, path.relative(path.dirname(directory), folder) || path.basename(folder))
  }
  throw new BadRequestError(`no SQL migrations found in ${path.basename(directory)}: expected migrations/V<version>__<name>.sql or migrations/<digits>_<name>.sql`, undefined, 'NO_MIGRATIONS_FOUND')
}

/** Inline uploads for the sql handler: names with or without `.sql`, in version order. */
export function orderSqlMigrations (migrations: MigrationFile[]): MigrationFile[] {
  const named = migrations.map((migration) => migration.name.endsWith('.sql') ? { ...migration, name: migration.name.slice(0, -'.sql'.length) } : migration)
  return orderByVersion(named, 'the uploaded migrations')
}
