import { execFile } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './processes.js'

const run = promisify(execFile)

/**
 * A throwaway PostgreSQL server of a test's own (initdb into a temp dir, its own port), for
 * tests that stop and start it — never the shared server. PostgreSQL refuses to run as root,
 * so its commands run as the `postgres` user.
 */
export interface OwnPostgres {
  /** A URL to a database on it (trust authentication on loopback). */
  url: (database: string) => string
  createDatabase: (name: string) => Promise<void>
  stop: () => Promise<void>
  start: () => Promise<void>
  close: () => Promise<void>
}

async function asPostgres (command: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 60_000 })
}

export async function startOwnPostgres (): Promise<OwnPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'md-own-pg-'))
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
  chownSync(dir, uid, gid)
  const data = path.join(dir, 'data')
  const port = await freePort()
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
  const start = async (): Promise<void> => { await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', 'start']) }
  const stop = async (mode = 'fast'): Promise<void> => { await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']) }
  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`
  await start()
  return {
    url,
    createDatabase: async (name) => {
      const client = new pg.Client({ connectionString: url('postgres') })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE "${name}"`)
      } finally {
        await client.end()
      }
    },
    stop: async () => { await stop() },
    start,
    close: async () => {
      await stop('immediate').catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
