import { readdirSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { sha256Hex } from '../../lib/checksum.js'
import type { MigrationFile } from '../types.js'

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

/** A migrations folder and the names of the folders in it (candidate migrations, unsorted). */
interface MigrationsFolder {
  folder: string
  names: string[]
}

/** Finds the migrations folder of a Prisma project directory (or the folder itself). */
export function findMigrationsFolder (directory: string): string {
  return locateMigrations(directory).folder
}

// The first candidate holding at least one <name>/migration.sql, read once.
function locateMigrations (directory: string): MigrationsFolder {
  for (const candidate of CANDIDATE_FOLDERS) {
    const folder = path.join(directory, candidate)
    const names = subfolders(folder)
    if (names.some((name) => hasMigrationFile(folder, name))) return { folder, names }
  }
  throw new BadRequestError(`no Prisma migrations found in ${path.basename(directory)}: expected prisma/migrations/<timestamp>_<name>/migration.sql`, undefined, 'NO_MIGRATIONS_FOUND')
}

function subfolders (folder: string): string[] {
  try {
    return readdirSync(folder, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)
  } catch {
    return []
  }
}

function hasMigrationFile (folder: string, name: string): boolean {
  try {
    return statSync(path.join(folder, name, 'migration.sql')).isFile()
  } catch {
    return false
  }
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
function listPrismaMigrations (directory: string): Array<{ name: string, file: string }> {
  const { folder, names } = locateMigrations(directory)
  const found: Array<{ name: string, file: string }> = []
  for (const name of names.sort(compareNamesBytewise)) {
    if (!hasMigrationFile(folder, name)) continue
    if (!isMigrationName(name)) throw invalidName(name)
    found.push({ name, file: path.join(folder, name, 'migration.sql') })
  }
  return found
}

/**
 * Checks a Prisma project the way readPrismaMigrations would (the folder exists and holds
 * migrations, every name is valid) without reading every file, or even looking for every
 * migration.sql: only a folder with an invalid name needs one to be refused. What accepting a
 * deployment needs; the worker reads the files when it plans.
 */
export async function checkPrismaMigrations (directory: string): Promise<void> {
  const { folder, names } = locateMigrations(directory)
  const invalid = names.filter((name) => !isMigrationName(name)).sort(compareNamesBytewise).find((name) => hasMigrationFile(folder, name))
  if (invalid !== undefined) throw invalidName(invalid)
}

/**
 * Reads every `<name>/migration.sql` of a Prisma migrations folder, in Prisma's order
 * (byte-wise by folder name). Checksums are of the raw bytes, CRLF and BOM included.
 */
export async function readPrismaMigrations (directory: string): Promise<MigrationFile[]> {
  return await Promise.all(listPrismaMigrations(directory).map(async ({ name, file }) => {
    const bytes = await readFile(file)
    return { name, sql: bytes.toString('utf8'), checksum: sha256Hex(bytes) }
  }))
}
