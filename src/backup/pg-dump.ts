import { chmod, mkdir, open, readdir, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { execa } from 'execa'
import { describeTarget } from '../lib/target-connection.js'
import { maskSecrets } from '../lib/mask-secrets.js'
import { backupScopeOf, parseSchemaUrl, type SchemaUrl } from '../lib/schema-url.js'
import { readArchiveToc } from './archive-toc.js'
import { BackupError } from './backup-error.js'
import { newBackupId } from './backup-id.js'
import { childEnvironment, libpqEnvironment } from './libpq-env.js'
import { assertPgDumpCanDump, readServerVersion, readToolVersion } from './pg-versions.js'
import { describeToolFailure } from '../lib/tool-failure.js'
import { schemaDumpArguments } from './schema-scope.js'
import type { BackupResult } from './types.js'

export interface PgDumpBackupOptions {
  /** The target's URL. Its parts reach pg_dump only through PG* environment variables. */
  databaseUrl: string
  /** `backup.dir`; relative paths resolve against the working directory. */
  dir: string
  /** The environment's name: the subdirectory the dump goes in. */
  environment: string
  /** `backup.pg_dump_path`; default `pg_dump` from PATH. */
  pgDumpPath?: string | undefined
  /** `backup.pg_restore_path`, used to verify the dump; default `pg_restore` from PATH. */
  pgRestorePath?: string | undefined
  /** Kills pg_dump after this long (default: no limit). */
  timeoutMs?: number | undefined
}

// Environment names become a directory name: nothing that could climb out of `dir`.
const SAFE_DIRECTORY_NAME = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/

/**
 * Takes a custom-format (`-Fc`) dump of the target into `<dir>/<environment>/<backupId>.dump`
 * and verifies it with `pg_restore --list`.
 *
 * Before dumping, `pg_dump --version` is compared with the server's major version: an older
 * pg_dump is refused with a message naming both. Credentials travel only in the child's
 * environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …); pg_dump's
 * arguments hold no connection detail at all.
 *
 * A URL naming a schema other than public (Prisma's `?schema=`) dumps that schema only, with the
 * extensions installed in it (see schemaDumpArguments), and says so in the result's `schema`;
 * otherwise the whole database is dumped.
 *
 * Every failure is a `BackupError` (code `BACKUP_FAILED`) with a masked message that includes
 * what pg_dump or pg_restore wrote to stderr; a partial or unverifiable file is deleted.
 */
export async function createPgDumpBackup (options: PgDumpBackupOptions): Promise<BackupResult> {
  const started = performance.now()
  const pgDumpPath = options.pgDumpPath ?? 'pg_dump'
  const pgRestorePath = options.pgRestorePath ?? 'pg_restore'
  if (!SAFE_DIRECTORY_NAME.test(options.environment)) throw new BackupError(`environment name ${JSON.stringify(options.environment)} cannot be used as a backup directory`)

  let env: Record<string, string>
  let target: SchemaUrl
  try {
    target = parseSchemaUrl(options.databaseUrl)
    env = libpqEnvironment(target.connectionUrl, 'migration-deployer backup')
  } catch (error) {
    throw new BackupError((error as Error).message)
  }
  const pgDumpVersion = await readToolVersion(pgDumpPath, 'pg_dump', 'backup.pg_dump_path')
  const serverVersion = await readServerVersion(options.databaseUrl)
  assertPgDumpCanDump(pgDumpVersion, serverVersion)
  const schema = backupScopeOf(target)
  const scope = schema === null ? [] : await schemaDumpArguments(target, options.databaseUrl, pgDumpVersion)

  const { backupId, file } = await reserveDumpFile(path.resolve(options.dir), options.environment)
  const result = await execa(pgDumpPath, ['--format=custom', '--no-password', ...scope, `--file=${file}`], {
    env: childEnvironment(env), extendEnv: false, reject: false, stdin: 'ignore', timeout: options.timeoutMs
  })
  if (result.failed) {
    await unlink(file).catch(() => {})
    throw new BackupError(`backup of ${describeTarget(options.databaseUrl)} failed: ${describeToolFailure('pg_dump', pgDumpPath, result)}`)
  }
  try {
    await readArchiveToc(file, pgRestorePath)
  } catch (error) {
    await unlink(file).catch(() => {})
    throw new BackupError(`the dump of ${describeTarget(options.databaseUrl)} did not verify: ${(error as Error).message}`)
  }
  const { size } = await stat(file)
  return {
    backupId,
    provider: 'pg_dump',
    file,
    sizeBytes: size,
    durationMs: Math.round(performance.now() - started),
    verified: true,
    serverVersion: serverVersion.text,
    pgDumpVersion: pgDumpVersion.text,
    schema,
    output: maskSecrets(result.stderr.trim())
  }
}

// A dump holds every row of the database: only the deployer's own user may read it, whatever
// the umask. Modes are set explicitly (chmod), since mkdir's and open's are masked by the umask.
const FOLDER_MODE = 0o700
const FILE_MODE = 0o600

/**
 * Creates `<dir>/<environment>` (0700) and claims a fresh file name (0600) with O_EXCL, so two
 * backups started in the same second (even by two workers sharing the directory) never write
 * the same file. Folders and dumps left readable by others by an earlier version are tightened.
 */
async function reserveDumpFile (dir: string, environment: string): Promise<{ backupId: string, file: string }> {
  const directory = path.join(dir, environment)
  try {
    await mkdir(directory, { recursive: true, mode: FOLDER_MODE })
    await chmod(directory, FOLDER_MODE)
  } catch (error) {
    throw new BackupError(`cannot create the backup directory ${directory} (mode 0700): ${(error as Error).message}`)
  }
  // backup.dir may belong to someone else (a mounted volume): the environment folder above
  // already keeps the dumps private, so this one is best effort.
  await chmod(dir, FOLDER_MODE).catch(() => {})
  await tightenEarlierDumps(directory)
  for (let attempt = 0; ; attempt++) {
    const backupId = newBackupId()
    const file = path.join(directory, `${backupId}.dump`)
    try {
      const handle = await open(file, 'wx', FILE_MODE)
      try {
        await handle.chmod(FILE_MODE)
      } finally {
        await handle.close()
      }
      return { backupId, file }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 10) {
        throw new BackupError(`cannot create the backup file ${file}: ${(error as Error).message}`)
      }
    }
  }
}

/** Dumps written before files were made private (0644): made 0600, best effort. */
async function tightenEarlierDumps (directory: string): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => [])
  await Promise.all(entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.dump'))
    .map(async (entry) => { await chmod(path.join(directory, entry.name), FILE_MODE).catch(() => {}) }))
}
