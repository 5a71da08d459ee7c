import { execFile, execFileSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { until } from '../../helpers/until.js'
import { cleanUpAtExit } from './leftovers.js'

const run = promisify(execFile)

/**
 * Two PostgreSQL servers of a test's own on loopback: a primary and a hot standby fed by
 * streaming replication, synchronous (as RDS Multi-AZ's standby is: a commit the primary
 * acknowledged is on the standby too). Commands run as `postgres`, as scripts/services.sh does.
 */
export interface PostgresPair {
  ports: [number, number]
  /** The URL of `database` on one server (trust authentication on loopback). */
  url: (server: 0 | 1, database: string) => string
  /** `postgres://…@primary,standby/<database>?target_session_attrs=read-write`, as libpq takes it. */
  multiHostUrl: (database: string) => string
  /** Stops the primary without a shutdown checkpoint: a crash. */
  crashPrimary: () => Promise<void>
  /** `pg_ctl promote` on the standby; resolves once it accepts writes. */
  promoteStandby: () => Promise<void>
  close: () => Promise<void>
}

async function asPostgres (command: string, args: string[]): Promise<string> {
  return (await run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 120_000, cwd: '/' })).stdout
}

async function pgBin (): Promise<string> {
  // Debian's layout keeps pg_ctl, initdb and pg_basebackup out of PATH: the newest version installed.
  const { stdout } = await run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1'])
  return stdout.trim()
}

async function queryOnce<T extends pg.QueryResultRow> (url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

/** Starts the pair on `ports` (the primary first) with `database` created on it. */
export async function startPostgresPair (ports: [number, number], database: string): Promise<PostgresPair> {
  const bin = await pgBin()
  const dir = mkdtempSync(path.join(tmpdir(), 'md-pg-pair-'))
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
  chownSync(dir, uid, gid)
  const data = [path.join(dir, 'primary'), path.join(dir, 'standby')] as const
  const url = (server: 0 | 1, name: string): string => `postgres://postgres@127.0.0.1:${ports[server]}/${name}`
  const options = (port: number): string =>
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on`
  const start = async (server: 0 | 1): Promise<void> => {
    await asPostgres(`${bin}/pg_ctl`, ['-D', data[server], '-o', options(ports[server]), '-l', path.join(dir, `server-${server}.log`), '-w', '-t', '60', 'start'])
  }
  const stop = async (server: 0 | 1, mode: string): Promise<void> => {
    await asPostgres(`${bin}/pg_ctl`, ['-D', data[server], '-m', mode, '-w', '-t', '60', 'stop'])
  }

  // If the test process dies without its teardown: stop both servers and remove their files.
  const unregister = cleanUpAtExit(() => {
    for (const server of data) {
      try {
        execFileSync('runuser', ['-u', 'postgres', '--', `${bin}/pg_ctl`, '-D', server, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore', cwd: '/', timeout: 30_000 })
      } catch {
        // Not running.
      }
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const close = async (): Promise<void> => {
    await stop(0, 'immediate').catch(() => {})
    await stop(1, 'immediate').catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    unregister()
  }

  try {
    await asPostgres(`${bin}/initdb`, ['-D', data[0], '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
    await start(0)
    await queryOnce(url(0, 'postgres'), `CREATE DATABASE "${database}"`)
    // The standby: a base backup that writes its own primary_conninfo and standby.signal (-R).
    await asPostgres(`${bin}/pg_basebackup`, ['-h', '127.0.0.1', '-p', String(ports[0]), '-U', 'postgres', '-D', data[1], '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast'])
    await start(1)
    // Synchronous from now on (the standby's copy of the settings predates this, so once promoted it waits for nobody).
    await queryOnce(url(0, 'postgres'), `ALTER SYSTEM SET synchronous_standby_names = '*'`)
    await queryOnce(url(0, 'postgres'), 'SELECT pg_reload_conf()')
    await until(async () => {
      const rows = await queryOnce<{ sync_state: string }>(url(0, 'postgres'), 'SELECT sync_state FROM pg_stat_replication')
      return rows[0]?.sync_state === 'sync' ? true : undefined
    }, 'the standby to replicate synchronously', 30_000, 50)
  } catch (error) {
    await close()
    throw error
  }

  return {
    ports,
    url,
    multiHostUrl: (name) => `postgres://postgres@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/${name}?target_session_attrs=read-write`,
    crashPrimary: async () => { await stop(0, 'immediate') },
    promoteStandby: async () => {
      await asPostgres(`${bin}/pg_ctl`, ['-D', data[1], '-w', '-t', '60', 'promote'])
    },
    close
  }
}
