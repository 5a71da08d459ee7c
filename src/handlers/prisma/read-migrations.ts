import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { sha256Hex } from '../../lib/checksum.js'
import type { MigrationFile } from '../types.js'

/**
 * A migration folder's name: digits (the timestamp), `_`, a name (Prisma allows spaces and any
 * Unicode there), at most 255 bytes (the history column). No control characters: names reach
 * the human log, and a newline in one could forge a line of it.
 */
const MIGRATION_FOLDER_NAME = /^[0-9]+_[^\u0000-\u001f\u007f/\\]+$/

/** Where a Prisma project keeps its migrations, tried in order from the given directory. */
const CANDIDATE_FOLDERS = ['prisma/migrations', 'migrations', '.']

/** Byte-wise comparison of names, the order Prisma applies folders in. */
export function compareNamesBytewise (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** Finds the migrations folder of a Prisma project directory (or the folder itself). */
export async function findMigrationsFolder (directory: string): Promise<string> {
  for (const candidate of CANDIDATE_FOLDERS) {
    const folder = path.join(directory, candidate)
    if (await hasMigrationFolders(folder)) return folder
  }
  throw new BadRequestError(`no Prisma migrations found in ${path.basename(directory)}: expected prisma/migrations/<timestamp>_<name>/migration.sql`, undefined, 'NO_MIGRATIONS_FOUND')
}

async function hasMigrationFolders (folder: string): Promise<boolean> {
  try {
    const entries = await readdir(folder, { withFileTypes: true })
    for (const entry of entries) {
      if (entry.isDirectory() && await isFile(path.join(folder, entry.name, 'migration.sql'))) return true
    }
    return false
  } catch {
    return false
  }
}

async function isFile (file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile()
  } catch {
    return false
  }
}

/**
 * The `<name>/migration.sql` files of a Prisma migrations folder, in Prisma's order (byte-wise by
 * folder name), names checked; the files themselves are not read.
 */
async function listPrismaMigrations (directory: string): Promise<Array<{ name: string, file: string }>> {
  const folder = await findMigrationsFolder(directory)
  const entries = await readdir(folder, { withFileTypes: true })
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort(compareNamesBytewise)
  const found = await Promise.all(names.map(async (name) => {
    const file = path.join(folder, name, 'migration.sql')
    if (!await isFile(file)) return undefined
    if (!MIGRATION_FOLDER_NAME.test(name) || Buffer.byteLength(name) > 255) {
      throw new BadRequestError(`migration folder ${JSON.stringify(name)} is not named <digits>_<name> (like "20250124140000_add_user_profiles"); rename it the way Prisma names migrations`, { folder: name }, 'INVALID_MIGRATION_NAME')
    }
    return { name, file }
  }))
  return found.filter((entry) => entry !== undefined)
}

/**
 * Checks a Prisma project the way readPrismaMigrations would (the folder exists and holds
 * migrations, every name is valid) without reading and hashing every file: what accepting a
 * deployment needs; the worker reads the files when it plans.
 */
export async function checkPrismaMigrations (directory: string): Promise<void> {
  await listPrismaMigrations(directory)
}

/**
 * Reads every `<name>/migration.sql` of a Prisma migrations folder, in Prisma's order
 * (byte-wise by folder name). Checksums are of the raw bytes, CRLF and BOM included.
 */
export async function readPrismaMigrations (directory: string): Promise<MigrationFile[]> {
  return await Promise.all((await listPrismaMigrations(directory)).map(async ({ name, file }) => {
    const bytes = await readFile(file)
    return { name, sql: bytes.toString('utf8'), checksum: sha256Hex(bytes) }
  }))
}
