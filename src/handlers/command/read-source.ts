import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { BadRequestError } from '../../errors/index.js'
import { sha256Hex } from '../../lib/checksum.js'
import { confineTo, type Confinement } from '../../lib/confined-path.js'
import { compareNamesBytewise, readPrismaMigrations } from '../prisma/read-migrations.js'
import type { MigrationFile } from '../types.js'
import { readMigrationFile } from '../shared/read-migration-file.js'
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
 * source is empty and names come from the tool's status alone. Nothing outside `workspaceRoot`
 * (default: the project itself) is read, whatever the symlinks say.
 */
export async function readToolSource (spec: ToolSpec, project: string, workspaceRoot?: string): Promise<MigrationFile[]> {
  if (spec.layout === 'none') return []
  const folder = path.join(project, spec.migrationsDir ?? '.')
  if (spec.layout === 'prisma-folders') return await readPrismaMigrations(folder, workspaceRoot ?? project)
  const confinement = confineTo(workspaceRoot ?? project)
  let files: Array<{ name: string, real: string }>
  try {
    files = await filesIn(confinement, folder)
  } catch (error) {
    if (error instanceof BadRequestError) throw error
    throw new BadRequestError(`no ${spec.tool} migrations folder at ${path.join(path.basename(project), spec.migrationsDir ?? '.')} (set command.migrations_dir)`, undefined, 'NO_MIGRATIONS_FOUND')
  }
  if (spec.layout !== 'any-files') files = files.filter(({ name }) => SCRIPT_FILE.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.map'))
  files.sort((a, b) => compareNamesBytewise(a.name, b.name))
  const appliedBy = { tool: spec.tool, transactional: spec.transactional }
  return files.map(({ name: file, real }) => {
    const { sql, checksum } = readMigrationFile(real)
    const name = spec.layout === 'class-files' ? typeormNameOf(sql) ?? file.replace(SCRIPT_FILE, '') : file
    return { name, sql, checksum, appliedBy }
  })
}

/** The files of a folder inside the workspace, each with its real path (symlinks resolved inside it, or refused). */
async function filesIn (confinement: Confinement, folder: string): Promise<Array<{ name: string, real: string }>> {
  const real = confinement.realpath(folder)
  const entries = await readdir(real, { withFileTypes: true })
  const files = await Promise.all(entries.map(async (entry) => {
    if (entry.isFile()) return { name: entry.name, real: path.join(real, entry.name) }
    if (!entry.isSymbolicLink()) return undefined
    let target: string
    try {
      target = confinement.realpath(path.join(folder, entry.name))
    } catch (error) {
      if (error instanceof BadRequestError) throw error
      return undefined // a dangling link
    }
    return (await stat(target)).isFile() ? { name: entry.name, real: target } : undefined
  }))
  return files.filter((file) => file !== undefined)
}

/** The name a tool prints may lack the extension its file has (sequelize's progress lines). */
export function sameMigration (a: string, b: string): boolean {
  return a === b || a.replace(SCRIPT_FILE, '') === b.replace(SCRIPT_FILE, '')
}

/** A migration the tool names but whose file is not known: no content, a checksum of its name. */
export function unknownFile (tool: string, name: string): MigrationFile {
  return { name, sql: '', checksum: sha256Hex(`${tool}:${name}`), appliedBy: { tool, transactional: false } }
}
