import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import type pg from 'pg'
import { childEnvironment, libpqEnvironment } from '../backup/libpq-env.js'
import { describeToolFailure } from '../lib/tool-failure.js'

const UNITS: Record<string, number> = { B: 1, kB: 1024, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }

/** `"0MB"`, `"500kB"` → bytes. */
export function sizeBytes (text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB)$/.exec(text)
  return match === null ? 0 : Math.round(Number(match[1]) * (UNITS[match[2] ?? 'B'] ?? 1))
}

/** Tables whose data is at least `limit` bytes: their rows stay behind. */
async function largeTables (target: pg.Client, limit: number): Promise<string[]> {
  const { rows } = await target.query<{ pattern: string }>(
    `SELECT format('%s.%s', quote_ident(n.nspname), quote_ident(c.relname)) AS pattern
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        AND pg_total_relation_size(c.oid) >= $1`,
    [limit]
  )
  return rows.map((row) => row.pattern)
}

/**
 * Copies the target's schema (and the rows of its tables smaller than `copyDataBelow`) into the
 * scratch database: pg_dump of the target, pg_restore into the scratch database, without owners or
 * grants (the scratch role owns everything). Credentials only in the tools' environment.
 * Throws an Error with the tool's masked output when either fails.
 */
export async function copyTarget (target: pg.Client, targetUrl: string, scratchUrl: string, copyDataBelow: string, timeoutMs: number): Promise<void> {
  const limit = sizeBytes(copyDataBelow)
  const dataArgs = limit === 0 ? ['--schema-only'] : (await largeTables(target, limit)).map((table) => `--exclude-table-data=${table}`)
  const directory = await mkdtemp(path.join(tmpdir(), 'md-rehearsal-'))
  const file = path.join(directory, 'target.dump')
  try {
    const dump = await execa('pg_dump', ['--format=custom', '--no-password', '--no-owner', '--no-privileges', ...dataArgs, `--file=${file}`], {
      env: childEnvironment(libpqEnvironment(targetUrl, 'migration-deployer rehearsal dump')), extendEnv: false, reject: false, stdin: 'ignore', timeout: timeoutMs
    })
    if (dump.failed) throw new Error(`pg_dump of the target failed: ${describeToolFailure('pg_dump', 'pg_dump', dump)}`)
    const restore = await execa('pg_restore', ['--no-password', '--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${new URL(scratchUrl).pathname.slice(1)}`, file], {
      env: childEnvironment(libpqEnvironment(scratchUrl, 'migration-deployer rehearsal restore')), extendEnv: false, reject: false, stdin: 'ignore', timeout: timeoutMs
    })
    if (restore.failed) throw new Error(`pg_restore into the scratch database failed: ${describeToolFailure('pg_restore', 'pg_restore', restore)}`)
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
}

/** `pg_dump --schema-only` of a database as plain SQL, for the unified diff. */
export async function schemaText (url: string, timeoutMs: number): Promise<string> {
  const dump = await execa('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '--no-password'], {
    env: childEnvironment(libpqEnvironment(url, 'migration-deployer rehearsal diff')), extendEnv: false, reject: false, stdin: 'ignore', timeout: timeoutMs
  })
  if (dump.failed) throw new Error(`pg_dump --schema-only failed: ${describeToolFailure('pg_dump', 'pg_dump', dump)}`)
  // Lines that differ between any two dumps (the restrict key of pg_dump ≥ 17.6) are not changes.
  return dump.stdout.split('\n').filter((line) => !/^\\(un)?restrict /.test(line)).join('\n')
}
