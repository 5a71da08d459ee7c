import { execa } from 'execa'
import { connectTarget } from '../lib/target-connection.js'
import { BackupError } from './backup-error.js'
import { describeToolFailure } from '../lib/tool-failure.js'

/** A PostgreSQL version: its text (`15.18`) and its major as a comparable number (`15`; `9.6` before 10). */
export interface PgVersion {
  text: string
  major: number
}

function majorOf (first: number, second: number): number {
  // Before PostgreSQL 10 the major version had two parts (9.6); from 10 on, one.
  return first >= 10 ? first : first + second / 10
}

/** Reads `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`; undefined when the text is not a version line. */
export function parseToolVersion (output: string): PgVersion | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output)
  if (match === null) return undefined
  const text = match[0].replace(/^\(PostgreSQL\)\s+/, '')
  return { text, major: majorOf(Number(match[1]), Number(match[2] ?? 0)) }
}

/** The server's version from `server_version_num` (150018) and `server_version` (`15.18 (Debian …)`). */
export function serverVersionFrom (versionNum: number, versionText: string): PgVersion {
  const major = versionNum >= 100_000 ? Math.floor(versionNum / 10_000) : majorOf(Math.floor(versionNum / 10_000), Math.floor(versionNum / 100) % 100)
  return { text: versionText.split(' ')[0] ?? versionText, major }
}

/** How a major version is written in messages and package names: `15`, `9.6`. */
export function formatMajor (major: number): string {
  return Number.isInteger(major) ? String(major) : major.toFixed(1)
}

/** Runs `<tool> --version`; a missing binary or an unreadable answer is a `BackupError` naming the path. */
export async function readToolVersion (file: string, label: string, configKey: string): Promise<PgVersion> {
  const result = await execa(file, ['--version'], { reject: false, timeout: 30_000 })
  if (result.failed) throw new BackupError(describeToolFailure(label, file, result, `check ${configKey}`))
  const version = parseToolVersion(result.stdout)
  if (version === undefined) throw new BackupError(`${file} --version did not print a PostgreSQL version: ${result.stdout.slice(0, 200)}`)
  return version
}

/** Asks the server for its version; an unreachable server is a `BackupError` (masked). */
export async function readServerVersion (databaseUrl: string): Promise<PgVersion> {
  let client
  try {
    client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer backup' })
  } catch (error) {
    throw new BackupError(`cannot back up: ${(error as Error).message}`, { cause: error })
  }
  try {
    const { rows } = await client.query<{ num: string, text: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text")
    const row = rows[0] as { num: string, text: string }
    return serverVersionFrom(Number(row.num), row.text)
  } catch (error) {
    throw new BackupError(`cannot read the server version: ${(error as Error).message}`, { cause: error })
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * pg_dump refuses to dump a newer server, with a message that names neither the fix nor the
 * setting; this says both before anything runs.
 */
export function assertPgDumpCanDump (pgDump: PgVersion, server: PgVersion): void {
  if (pgDump.major >= server.major) return
  const serverMajor = formatMajor(server.major)
  throw new BackupError(
    `pg_dump ${pgDump.text} is older than the server (PostgreSQL ${server.text}); install postgresql-client-${serverMajor} or set backup.pg_dump_path`,
    { details: { pg_dump_version: pgDump.text, server_version: server.text } })
}
