import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { confineTo, type Confinement } from '../../lib/confined-path.js'
import type { MigrationFile } from '../types.js'
import { readMigrationFile } from '../shared/read-migration-file.js'

/**
 * A migration folder's name: digits (the timestamp), `_`, a name (Prisma allows spaces and any
 * Unicode there), at most 255 bytes (the history column). No control characters: names reach
 * the human log, and a newline in one could forge a line of it.
 */
// eslint-disable-next-line no-control-regex -- control characters are what the name may not hold
const MIGRATION_FOLDER_NAME = /^[0-9]+_[^\u0000-\u001f\u007f/\\]+$/

/** Where a Prisma project keeps its migrations, tried in order from the given directory. */
const CANDIDATE_FOLDERS = ['prisma/migrations', 'migrations', '.']

/** Byte-wise comparison of names, the order Prisma applies folders in. */
export function compareNamesBytewise (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

// The folder listing below is metadata only (directory reads and stats) and is done
// synchronously: tens of microseconds on a workspace checkout, where the asynchronous calls cost
// several times that in thread-pool hand-offs and queue behind each other when a burst of
// POST /deployments checks its sources at once. File contents are read asynchronously.
//
// Every folder and file is resolved with realpath inside the workspace (`Confinement`) before it
// is read, and the resolved path is what is read: a symlink leading out of the workspace is
// refused, naming it; one that stays inside is followed.

/** A migrations folder and the names of the folders in it (candidate migrations, unsorted). */
interface MigrationsFolder {
  /** The folder as found under the project (paths below it are resolved again, and named in messages, from here). */
  folder: string
  names: string[]
}

/** Finds the migrations folder of a Prisma project directory (or the folder itself). */
export function findMigrationsFolder (directory: string, workspaceRoot?: string): string {
  return locateMigrations(directory, confineTo(workspaceRoot ?? directory)).folder
}

// The first candidate holding at least one <name>/migration.sql, read once.
function locateMigrations (directory: string, confinement: Confinement): MigrationsFolder {
  for (const candidate of CANDIDATE_FOLDERS) {
    const folder = path.join(directory, candidate)
    const real = existingRealpath(confinement, folder)
    if (real === undefined) continue
    const names = subfolders(confinement, folder, real)
    if (names.some((name) => hasMigrationFile(confinement, folder, name))) return { folder, names }
  }
  throw new BadRequestError(`no Prisma migrations found in ${path.basename(directory)}: expected prisma/migrations/<timestamp>_<name>/migration.sql`, undefined, 'NO_MIGRATIONS_FOUND')
}

/** The real path of a folder or file inside the workspace; undefined when it does not exist. */
function existingRealpath (confinement: Confinement, target: string): string | undefined {
  try {
    return confinement.realpath(target)
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

function isMissing (error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP'
}

/** The folders in a folder; a symlinked entry counts when it leads to a folder inside the workspace. */
function subfolders (confinement: Confinement, folder: string, real: string): string[] {
  let entries
  try {
    entries = readdirSync(real, { withFileTypes: true })
  } catch {
    return []
  }
  return entries.filter((entry) => {
    if (entry.isDirectory()) return true
    if (!entry.isSymbolicLink()) return false
    const target = existingRealpath(confinement, path.join(folder, entry.name))
    return target !== undefined && statSync(target).isDirectory()
  }).map((entry) => entry.name)
}

function hasMigrationFile (confinement: Confinement, folder: string, name: string): boolean {
  const real = existingRealpath(confinement, path.join(folder, name, 'migration.sql'))
  return real !== undefined && statSync(real).isFile()
}

function isMigrationName (name: string): boolean {
  return MIGRATION_FOLDER_NAME.test(name) && Buffer.byteLength(name) <= 255
}

function invalidName (name: string): BadRequestError {
  return new BadRequestError(`migration folder ${JSON.stringify(name)} is not named <digits>_<name> (like "20250124140000_add_user_profiles"); rename it the way Prisma names migrations`, { folder: name }, 'INVALID_MIGRATION_NAME')
}

/**
 * The `<name>/migration.sql` files of a Prisma migrations folder, in Prisma's order (byte-wise by
 * folder name), names checked; the files themselves are not read. A folder without a
 * migration.sql is not a migration (Prisma skips it too), whatever its name.
 */
function listPrismaMigrations (directory: string, confinement: Confinement): Array<{ name: string, file: string }> {
  const { folder, names } = locateMigrations(directory, confinement)
  const found: Array<{ name: string, file: string }> = []
  for (const name of names.sort(compareNamesBytewise)) {
    const file = existingRealpath(confinement, path.join(folder, name, 'migration.sql'))
    if (file === undefined || !statSync(file).isFile()) continue
    if (!isMigrationName(name)) throw invalidName(name)
    found.push({ name, file })
  }
  return found
}

/**
 * Checks a Prisma project the way readPrismaMigrations would (the folder exists and holds
 * migrations, every name is valid) without reading every file, or even looking for every
 * migration.sql: only a folder with an invalid name needs one to be refused. What accepting a
 * deployment needs; the worker reads the files when it plans.
 */
export async function checkPrismaMigrations (directory: string, workspaceRoot?: string): Promise<void> {
  const confinement = confineTo(workspaceRoot ?? directory)
  const { folder, names } = locateMigrations(directory, confinement)
  const invalid = names.filter((name) => !isMigrationName(name)).sort(compareNamesBytewise).find((name) => hasMigrationFile(confinement, folder, name))
  if (invalid !== undefined) throw invalidName(invalid)
}

/**
 * Reads every `<name>/migration.sql` of a Prisma migrations folder, in Prisma's order
 * (byte-wise by folder name). Checksums are of the raw bytes, CRLF and BOM included. Nothing
 * outside `workspaceRoot` (default: the directory itself) is read, whatever the symlinks say.
 */
export async function readPrismaMigrations (directory: string, workspaceRoot?: string): Promise<MigrationFile[]> {
  return listPrismaMigrations(directory, confineTo(workspaceRoot ?? directory)).map(({ name, file }) => {
    const { sql, checksum } = readMigrationFile(file)
    return { name, sql, checksum }
  })
}
