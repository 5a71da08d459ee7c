import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { sha256Hex } from '../../lib/checksum.js'
import { compareNamesBytewise, readPrismaMigrations } from '../prisma/read-migrations.js'
import type { MigrationFile } from '../types.js'
import type { ToolSpec } from './presets.js'

const SCRIPT_FILE = /\.(js|cjs|mjs|ts|cts|mts)$/

/** TypeORM's migration name: the class's `name = '…'` property, else the class name. */
function typeormNameOf (text: string): string | undefined {
  return /\bname\s*=\s*['"`]([^'"`]+)['"`]/.exec(text)?.[1] ?? /\bclass\s+([A-Za-z_$][\w$]*)/.exec(text)?.[1]
}

/**
 * The tool's migration files, so a plan shows reviewers what will run and binds the approval to
 * the files' checksums (sha256 of the bytes): TypeORM and Sequelize files as written (JavaScript,
 * not parsed as SQL here), Prisma's `migration.sql` folders as SQL. With no known layout the
 * source is empty and names come from the tool's status alone.
 */
export async function readToolSource (spec: ToolSpec, project: string): Promise<MigrationFile[]> {
  if (spec.layout === 'none') return []
  const folder = path.join(project, spec.migrationsDir ?? '.')
  if (spec.layout === 'prisma-folders') return await readPrismaMigrations(folder)
  let names: string[]
  try {
    names = (await readdir(folder, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name)
  } catch {
    throw new BadRequestError(`no ${spec.tool} migrations folder at ${path.join(path.basename(project), spec.migrationsDir ?? '.')} (set command.migrations_dir)`, undefined, 'NO_MIGRATIONS_FOUND')
  }
  if (spec.layout !== 'any-files') names = names.filter((name) => SCRIPT_FILE.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.map'))
  names.sort(compareNamesBytewise)
  const appliedBy = { tool: spec.tool, transactional: spec.transactional }
  return await Promise.all(names.map(async (file) => {
    const bytes = await readFile(path.join(folder, file))
    const sql = bytes.toString('utf8')
    const name = spec.layout === 'class-files' ? typeormNameOf(sql) ?? file.replace(SCRIPT_FILE, '') : file
    return { name, sql, checksum: sha256Hex(bytes), appliedBy }
  }))
}

/** The name a tool prints may lack the extension its file has (sequelize's progress lines). */
export function sameMigration (a: string, b: string): boolean {
  return a === b || a.replace(SCRIPT_FILE, '') === b.replace(SCRIPT_FILE, '')
}

/** A migration the tool names but whose file is not known: no content, a checksum of its name. */
export function unknownFile (tool: string, name: string): MigrationFile {
  return { name, sql: '', checksum: sha256Hex(`${tool}:${name}`), appliedBy: { tool, transactional: false } }
}
