import type pg from 'pg'
import { openControlSession } from './control-locks.js'

/**
 * The job gate's dedicated control-database sessions (session-level advisory locks: a
 * deployment's lease, an environment's guard), kept open between jobs instead of one new
 * connection per job. A new connection costs a backend start and a SCRAM exchange: on the
 * 2-core bench machine that was the largest single cost of a no-op deployment (issue 23).
 *
 * What made one connection per job safe stays true:
 * - no lock outlives its job: a session is parked only after `pg_advisory_unlock_all()`
 *   succeeded on it; one that fails that is closed, which releases whatever it held;
 * - locks still die with the worker: the sessions are this process's own connections;
 * - a parked session that broke (server restart), or whose server is a standby after a
 *   failover, is found by the statement that takes it back, closed, and replaced by a new one
 *   (which finds the writable host, as every control connection does).
 *
 * The session's `application_name` says what it does right now (operators read
 * `pg_stat_activity`): `migration-deployer job pid N` while it holds a job, `… idle …` while parked.
 */
export class ControlSessions {
  private readonly parked: pg.Client[] = []
  private closed = false

  constructor (
    private readonly pool: pg.Pool,
    /** Sessions kept when no job uses them: the worker's concurrency (more would only sit idle). */
    private readonly maxParked: number,
    private readonly pid = process.pid
  ) {}

  private get busyName (): string { return `migration-deployer job pid ${this.pid}` }

  /** A session for one job: a parked one that still answers, else a new one. */
  async acquire (): Promise<pg.Client> {
    for (let session = this.parked.pop(); session !== undefined; session = this.parked.pop()) {
      try {
        // After a failover the parked session's server may be a standby now, where a lease would
        // lock nothing the new primary's sessions see: only a session on a writable server is kept.
        const { rows } = await session.query<{ standby: boolean }>(
          "SELECT pg_catalog.set_config('application_name', $1, false), pg_catalog.pg_is_in_recovery() AS standby", [this.busyName])
        if (rows[0]?.standby === false) return session
      } catch {
        // Broken while parked: replaced below.
      }
      await session.end().catch(() => {})
    }
    return await openControlSession(this.pool, this.busyName)
  }

  /** Gives a job's session back: its locks released, parked for the next job (or closed). */
  async release (session: pg.Client): Promise<void> {
    if (this.closed || this.parked.length >= this.maxParked) {
      await session.end().catch(() => {})
      return
    }
    try {
      await session.query("SELECT pg_catalog.pg_advisory_unlock_all(), pg_catalog.set_config('application_name', $1, false)", [
        `migration-deployer idle job session pid ${this.pid}`
      ])
    } catch {
      // Unknown whether its locks were released: closing the connection releases them for sure.
      await session.end().catch(() => {})
      return
    }
    if (this.closed) await session.end().catch(() => {})
    else this.parked.push(session)
  }

  /** Closes the parked sessions; sessions released later are closed instead of parked. */
  async close (): Promise<void> {
    this.closed = true
    await Promise.all(this.parked.splice(0).map(async (session) => { await session.end().catch(() => {}) }))
  }
}
