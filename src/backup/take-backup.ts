import path from 'node:path'
import type { BackupConfig } from '../config/schema.js'
import { backupScopeOf, parseSchemaUrl, quoteIdentifier } from '../lib/schema-url.js'
import type { BackupRow, NewBackup } from '../store/backups.js'
import { runCommandBackup } from './command.js'
import { createPgDumpBackup } from './pg-dump.js'
import { restorePgDumpBackup } from './restore.js'
import { RestoreError } from './restore-error.js'
import type { BackupResult } from './types.js'

/**
 * Takes a backup with the environment's configured provider (`backup.provider`): `pg_dump` into
 * `backup.dir` (relative to `baseDir`, default the working directory), or `backup.command`.
 * Returns null for provider `none`. Throws `BackupError`.
 */
export async function takeBackup (
  config: BackupConfig,
  target: { databaseUrl: string; environment: string; baseDir?: string; timeoutMs?: number }
): Promise<BackupResult | null> {
  switch (config.provider) {
    case 'none':
      return null
    case 'command':
      return await runCommandBackup({
        argv: config.command ?? [],
        databaseUrl: target.databaseUrl,
        environment: target.environment,
        cwd: target.baseDir,
        timeoutMs: target.timeoutMs
      })
    case 'pg_dump':
      return await createPgDumpBackup({
        databaseUrl: target.databaseUrl,
        dir: path.resolve(target.baseDir ?? process.cwd(), config.dir),
        environment: target.environment,
        pgDumpPath: config.pg_dump_path,
        pgRestorePath: config.pg_restore_path,
        timeoutMs: target.timeoutMs
      })
  }
}

/** The `backups` row for a result: `recordBackup(db, backupRecord(result, env, deploymentId))`. */
export function backupRecord (result: BackupResult, environment: string, deploymentId: string | null): NewBackup {
  return {
    id: result.backupId,
    environment,
    deployment_id: deploymentId,
    provider: result.provider,
    file: result.file,
    size_bytes: result.sizeBytes,
    duration_ms: result.durationMs,
    verified: result.verified,
    server_version: result.serverVersion,
    schema: result.schema
  }
}

/**
 * Restores a recorded backup (from `getBackup`) into the target. Only pg_dump backups whose file
 * still exists can be restored here; anything else is a `RestoreError` saying why.
 */
export async function restoreRecordedBackup (
  backup: BackupRow,
  target: { databaseUrl: string; environment: string; pgRestorePath?: string | undefined; timeoutMs?: number }
): Promise<{ durationMs: number }> {
  if (backup.environment !== target.environment) throw new RestoreError(`backup ${backup.id} belongs to ${backup.environment}, not ${target.environment}`)
  if (backup.provider !== 'pg_dump' || backup.file === null) { throw new RestoreError(`backup ${backup.id} was taken by the ${backup.provider} provider: restore it with that tool`) }
  if (backup.deleted_at !== null) throw new RestoreError(`backup ${backup.id} was pruned on ${backup.deleted_at.toISOString()}`)
  assertSameScope(backup, target.databaseUrl)
  return await restorePgDumpBackup({
    databaseUrl: target.databaseUrl, file: backup.file, pgRestorePath: target.pgRestorePath, timeoutMs: target.timeoutMs, schema: backup.schema
  })
}

/**
 * A backup is restored over what it was taken of: a one-schema dump over that schema, a
 * whole-database dump over the whole database. If the environment's URL now names another
 * schema (or none), restoring would replace something the backup does not describe.
 */
function assertSameScope (backup: BackupRow, databaseUrl: string): void {
  let current: string | null
  try {
    current = backupScopeOf(parseSchemaUrl(databaseUrl))
  } catch (error) {
    throw new RestoreError((error as Error).message)
  }
  if (current === backup.schema) return
  const describe = (schema: string | null): string => schema === null ? 'the whole database' : `schema ${quoteIdentifier(schema)}`
  throw new RestoreError(`backup ${backup.id} holds ${describe(backup.schema)}, but the environment's database URL now points at ${describe(current)}: ` +
    'set the URL\'s schema parameter back, or restore the dump by hand with pg_restore')
}
