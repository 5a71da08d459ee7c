import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { connectTarget } from '../lib/target-connection.js'

/** Every scratch database's name starts so: the reconciler finds leftovers by it. */
export const SCRATCH_PREFIX = 'md_rehearsal_'
/** The application_name of the connection that holds a scratch database while its rehearsal lives. */
export const HOLDER_PREFIX = 'migration-deployer rehearsal '

/** A URL to another database on the same server as `url`. */
export function databaseUrlFor (url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Whether the URL's role may create databases (CREATEDB, or a superuser). */
export async function mayCreateDatabases (client: pg.Client): Promise<{ may: boolean, role: string }> {
  const { rows } = await client.query<{ may: boolean, role: string }>('SELECT rolcreatedb OR rolsuper AS may, rolname AS role FROM pg_roles WHERE rolname = current_user')
  return { may: rows[0]?.may === true, role: rows[0]?.role ?? '' }
}

/** A scratch database and the connection that marks it alive; `drop` always removes it. */
export interface ScratchDatabase {
  name: string
  url: string
  drop: () => Promise<void>
}

/**
 * Creates an empty scratch database on the server of `adminUrl`. A holder connection, named
 * after it, is opened first and stays open until the drop: while it lives the database is in use;
 * once its process dies (kill -9) the server ends the session and the reconciler drops the leftover.
 */
export async function createScratchDatabase (holder: pg.Client, adminUrl: string): Promise<ScratchDatabase> {
  const name = `${SCRATCH_PREFIX}${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`
  await holder.query(`SET application_name = '${HOLDER_PREFIX}${name}'`)
  await holder.query(`CREATE DATABASE "${name}"`)
  let dropped = false
  return {
    name,
    url: databaseUrlFor(adminUrl, name),
    drop: async () => {
      if (dropped) return
      await holder.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      dropped = true
    }
  }
}

/**
 * Drops scratch databases whose holder connection is gone (their worker died mid-rehearsal).
 * Returns the names dropped. A database whose rehearsal is still running is left alone.
 */
export async function dropLeftoverScratchDatabases (adminUrl: string): Promise<string[]> {
  const client = await connectTarget(adminUrl, { applicationName: 'migration-deployer reconciler' })
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT d.datname FROM pg_database d
        WHERE starts_with(d.datname, $1)
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = $2 || d.datname)`,
      [SCRATCH_PREFIX, HOLDER_PREFIX]
    )
    const dropped: string[] = []
    for (const { datname } of rows) {
      // The name matched the prefix and our own alphabet; quoting keeps it one identifier regardless.
      await client.query(`DROP DATABASE IF EXISTS "${datname.replace(/"/g, '""')}" WITH (FORCE)`)
      dropped.push(datname)
    }
    return dropped
  } finally {
    await client.end().catch(() => {})
  }
}
