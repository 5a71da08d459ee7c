import type pg from 'pg'

export interface LockHolder {
  pid: number
  application_name: string
  usename: string | null
  client_addr: string | null
  state: string | null
  backend_start: Date | null
}

/**
 * Names the sessions holding an advisory lock (from `pg_locks` joined with `pg_stat_activity`),
 * so a lock timeout says who to talk to instead of only "timed out".
 */
export async function describeLockHolders (client: pg.Client, key: number): Promise<{ text: string, sessions: LockHolder[] }> {
  // A bigint advisory key is stored split into classid (high 32 bits) and objid (low 32 bits), objsubid 1.
  const { rows } = await client.query<LockHolder>(
    `SELECT a.pid, a.application_name, a.usename, a.client_addr::text AS client_addr, a.state, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
    [key]
  ).catch(() => ({ rows: [] as LockHolder[] }))
  if (rows.length === 0) return { text: 'another session (it has since gone)', sessions: [] }
  const text = rows.map((row) => `pid ${row.pid} (application "${row.application_name}", user ${row.usename ?? 'unknown'}${row.client_addr === null ? '' : ` from ${row.client_addr}`}, state ${row.state ?? 'unknown'})`).join(', ')
  return { text, sessions: rows }
}
