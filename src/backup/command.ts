import path from 'node:path'
import { execa } from 'execa'
import { maskSecrets, registerUrlSecret } from '../lib/mask-secrets.js'
import { BackupError } from './backup-error.js'
import { newBackupId } from './backup-id.js'
import { childEnvironment } from './libpq-env.js'
import { describeToolFailure } from '../lib/tool-failure.js'
import type { BackupResult } from './types.js'

export interface CommandBackupOptions {
  /** `backup.command`: the program and its arguments, run without a shell. */
  argv: readonly string[]
  /** The target's URL, given to the command as `DATABASE_URL` in its environment only. */
  databaseUrl: string
  environment: string
  /** Working directory of the command (default: this process's). */
  cwd?: string | undefined
  /** Kills the command after this long (default: no limit). */
  timeoutMs?: number | undefined
}

// Keep the log readable when a tool is chatty: the end of its output is what explains a failure.
const MAX_OUTPUT_CHARS = 20_000

/** Replaces `{environment}` and `{backup_id}` in every element; other braces are left alone. */
export function substitutePlaceholders (argv: readonly string[], values: { environment: string, backupId: string }): string[] {
  return argv.map((arg) => arg.replaceAll('{environment}', values.environment).replaceAll('{backup_id}', values.backupId))
}

/**
 * The `command` provider: runs `backup.command` (e.g. a cloud snapshot CLI) with `{environment}`
 * and `{backup_id}` substituted, through execa without a shell. The database URL is in the
 * command's environment as `DATABASE_URL` and never in its arguments; inherited PG* variables
 * are removed so they cannot point the tool elsewhere.
 *
 * Returns the common result with `file`, `sizeBytes`, `serverVersion`, `pgDumpVersion` and `schema` null and
 * `verified` false (only the tool knows what it made); `output` is its stdout and stderr, masked.
 * A non-zero exit, a missing program or a timeout is a `BackupError` whose message includes the output.
 */
export async function runCommandBackup (options: CommandBackupOptions): Promise<BackupResult> {
  const started = performance.now()
  const [program, ...args] = options.argv
  if (program === undefined || program === '') throw new BackupError('backup.command is empty: give the program and its arguments as a list')
  registerUrlSecret(options.databaseUrl)
  const backupId = newBackupId()
  const [file, ...rest] = substitutePlaceholders([program, ...args], { environment: options.environment, backupId })
  const result = await execa(file as string, rest, {
    env: childEnvironment({ DATABASE_URL: options.databaseUrl }),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
    cwd: options.cwd,
    timeout: options.timeoutMs
  })
  const output = maskSecrets(tail(typeof result.all === 'string' ? result.all.trim() : ''))
  if (result.failed) {
    throw new BackupError(`backup command failed: ${describeToolFailure(path.basename(file as string), file as string, { ...result, stderr: output })}`, { details: { output } })
  }
  return {
    backupId,
    provider: 'command',
    file: null,
    sizeBytes: null,
    durationMs: Math.round(performance.now() - started),
    verified: false,
    serverVersion: null,
    pgDumpVersion: null,
    schema: null,
    output
  }
}

function tail (text: string): string {
  return text.length <= MAX_OUTPUT_CHARS ? text : `…${text.slice(-MAX_OUTPUT_CHARS)}`
}
