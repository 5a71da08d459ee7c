import type pg from 'pg'
import type { RehearsalLock } from '../domain/index.js'

interface Seen { relation: string, mode: string, first: number, last: number }

/**
 * Samples pg_locks on its own connection, every millisecond or so, while a rehearsal
 * applies: which relations the applying session holds locks on, in which mode, and for how long
 * they were seen held. A lock held for less than one round trip (well under a millisecond
 * locally) can be missed; the rehearsal's tables carry their rows when copy_data_below lets them.
 */
export class LockSampler {
  private readonly seen = new Map<string, Map<string, Seen>>()
  private current: string | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor (private readonly client: pg.Client, private readonly ownPids: number[]) {}

  /** Locks sampled from now on belong to `migration`. */
  startMigration (migration: string): void {
    this.current = migration
    if (!this.seen.has(migration)) this.seen.set(migration, new Map())
  }

  start (): void {
    this.running = this.loop()
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.running
  }

  /** The locks seen for a migration: relation, mode and the longest hold seen, in ms. */
  locksOf (migration: string): RehearsalLock[] {
    return [...(this.seen.get(migration)?.values() ?? [])]
      .map((s) => ({ relation: s.relation, mode: s.mode, held_ms: Math.round(s.last - s.first) }))
      .sort((a, b) => a.relation.localeCompare(b.relation) || a.mode.localeCompare(b.mode))
  }

  private async loop (): Promise<void> {
    while (!this.stopped) {
      const migration = this.current
      const sampledAt = performance.now()
      let rows: Array<{ relation: string, mode: string }>
      try {
        rows = (await this.client.query<{ relation: string, mode: string }>(
          `SELECT CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname) ELSE format('%I.%I', n.nspname, c.relname) END AS relation, l.mode
             FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE l.granted AND l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND NOT (l.pid = ANY ($1::int[])) AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
          [this.ownPids]
        )).rows
      } catch {
        return // the scratch database went away (dropped after a timeout): nothing more to see
      }
      // A breath between samples: the rehearsal shares the machine with the apply it watches.
      await new Promise((resolve) => setTimeout(resolve, 1))
      if (migration === undefined) continue
      const seen = this.seen.get(migration) as Map<string, Seen>
      for (const row of rows) {
        const key = `${row.relation} ${row.mode}`
        const entry = seen.get(key)
        if (entry === undefined) seen.set(key, { relation: row.relation, mode: row.mode, first: sampledAt, last: performance.now() })
        else entry.last = performance.now()
      }
    }
  }
}
