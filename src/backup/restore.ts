import { stat } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { execa } from 'execa'
import { backupScopeOf, parseSchemaUrl } from '../lib/schema-url.js'
import { describeTarget } from '../lib/target-connection.js'
import { readArchiveToc } from './archive-toc.js'
import { childEnvironment, libpqEnvironment } from './libpq-env.js'
import { RESTORE_PRELUDE, restoreScript } from './restore-script.js'
import { schemaRestorePrelude } from './schema-restore-script.js'
import { RestoreError } from './restore-error.js'
import { describeToolFailure } from '../lib/tool-failure.js'

export interface RestoreOptions {
  /** The target's URL. Its parts reach psql only through PG* environment variables. */
  databaseUrl: string
  /** A custom-format dump written by `createPgDumpBackup`. */
  file: string
  /** `backup.pg_restore_path`; default `pg_restore` from PATH. */
  pgRestorePath?: string | undefined
  /** Default: `psql` beside `pgRestorePath` when that is a path, else `psql` from PATH. */
  psqlPath?: string | undefined
  /** Kills psql (rolling the restore back) after this long (default: no limit). */
  timeoutMs?: number | undefined
  /**
   * The one schema the dump holds (the backup's `schema`), or null for a whole-database dump.
   * Default: what a backup of `databaseUrl` would hold (its `?schema=`, if not public).
   */
  schema?: string | null | undefined
}

/**
 * Returns the target to exactly the state in the dump: schema, data and the `_prisma_migrations`
 * history, removing whatever was created after the backup (tables, types, schemas, extensions,
 * constraints added to existing tables). `pg_restore --clean` cannot: it leaves new objects and
 * fails dropping tables that new foreign keys point at.
 *
 * One transaction, streamed into `psql --set=ON_ERROR_STOP=1`: drop every non-system schema
 * (CASCADE), recreate `public` as CREATE DATABASE makes it, then the SQL `pg_restore
 * --single-transaction --file=-` produces from the dump, COPY data included. The COMMIT is only
 * sent once pg_restore has read the whole archive, so a corrupt or truncated dump, an SQL error
 * or a killed psql all leave the database as it was. Credentials reach psql only in its
 * environment. Objects outside any schema that pg_dump does not dump without --create (database
 * settings, roles, subscriptions, global default privileges) are left as they are.
 *
 * A one-schema dump (a target URL with Prisma's `?schema=`) is restored the same way but drops
 * and recreates only that schema, refusing (unchanged) when objects outside it depend on it: see
 * schemaRestorePrelude. The rest of the database is not touched.
 *
 * Failures are a `RestoreError` (code `RESTORE_FAILED`) with psql's or pg_restore's stderr, masked.
 * Needs a role that owns (or is superuser over) everything it drops, like pg_restore --clean does.
 */
export async function restorePgDumpBackup (options: RestoreOptions): Promise<{ durationMs: number }> {
  const started = performance.now()
  const pgRestorePath = options.pgRestorePath ?? 'pg_restore'
  const psqlPath = options.psqlPath ?? (pgRestorePath.includes(path.sep) ? path.join(path.dirname(pgRestorePath), 'psql') : 'psql')
  const target = describeTarget(options.databaseUrl)

  let env: Record<string, string>
  let schema: string | null
  try {
    const schemaUrl = parseSchemaUrl(options.databaseUrl)
    env = libpqEnvironment(schemaUrl.connectionUrl, 'migration-deployer restore')
    schema = options.schema !== undefined ? options.schema : backupScopeOf(schemaUrl)
  } catch (error) {
    throw new RestoreError((error as Error).message)
  }
  const isFile = await stat(options.file).then((info) => info.isFile(), () => false)
  if (!isFile) throw new RestoreError(`backup file not found: ${options.file}`)
  // Refuse a file that is not an archive before touching the database at all.
  try {
    await readArchiveToc(options.file, pgRestorePath)
  } catch (error) {
    throw new RestoreError(`cannot restore ${target} from ${options.file}: ${(error as Error).message}`)
  }

  const psql = execa(psqlPath, ['--no-psqlrc', '--quiet', '--no-password', '--set=ON_ERROR_STOP=1', '--file=-'], {
    env: childEnvironment(env), extendEnv: false, reject: false, stdin: 'pipe', stdout: 'ignore', timeout: options.timeoutMs
  })
  // pg_restore only turns the archive into SQL; it never connects, so it gets no credentials.
  const pgRestore = execa(pgRestorePath, ['--single-transaction', '--file=-', options.file], {
    reject: false, stdin: 'ignore', buffer: { stdout: false }
  })
  const pgRestoreSucceeded = pgRestore.then((result) => !result.failed)
  let streamError: unknown
  try {
    // SIGKILL, not an end of input: psql must not get the chance to finish the script.
    const prelude = schema === null ? RESTORE_PRELUDE : schemaRestorePrelude(schema)
    await pipeline(Readable.from(restoreScript(prelude, pgRestore.stdout, pgRestoreSucceeded, () => psql.kill('SIGKILL'))), psql.stdin)
  } catch (error) {
    streamError = error
    psql.kill('SIGKILL')
    pgRestore.kill('SIGKILL')
  }
  const [restoreResult, psqlResult] = await Promise.all([pgRestore, psql])

  // Whichever failed on its own explains it; only this function sends SIGKILL, so a psql that
  // failed any other way (an SQL error, a refused login, a timeout, not found) was first.
  const failed = 'failed and changed nothing'
  if (psqlResult.failed && psqlResult.signal !== 'SIGKILL') {
    throw new RestoreError(`restore of ${target} ${failed}: ${describeToolFailure('psql', psqlPath, psqlResult, 'install the PostgreSQL client or set backup.pg_restore_path')}`)
  }
  if (restoreResult.failed) {
    throw new RestoreError(`restore of ${target} ${failed}: cannot read ${options.file}: ${describeToolFailure('pg_restore', pgRestorePath, restoreResult)}`)
  }
  if (psqlResult.failed || streamError !== undefined) {
    throw new RestoreError(`restore of ${target} ${failed}: ${psqlResult.failed ? describeToolFailure('psql', psqlPath, psqlResult) : (streamError as Error).message}`)
  }
  return { durationMs: Math.round(performance.now() - started) }
}
