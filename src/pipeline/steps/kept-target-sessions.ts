import type pg from 'pg'

/** How long a kept connection waits for the next health check of its target before it is closed. */
export const KEPT_TARGET_IDLE_MS = 15_000

interface Kept {
  client: pg.Client
  timer: NodeJS.Timeout
  keptAt: number
}

/**
 * The health check's target connections, kept between checks instead of one new connection per
 * check. On the 2-core bench machine a new connection (a backend start and a SCRAM exchange) was
 * about half of a no-op deployment (issue 23): the next deployment to the same target within
 * `idleMs` runs its pre-deployment check on the connection the last check used. (A check after
 * migrations ran opens a new connection, and keeps that one.) Its connectivity message says so.
 *
 * Only connections whose session is as a new one left it are kept (the health check decides: no
 * custom `sql` checks ran on it, nothing failed), keyed by the exact URL (the same credentials),
 * at most `maxKept` (the oldest closes first: a fleet's thousand targets never hold a thousand
 * idle connections), each for `idleMs` at most, one per URL. A kept connection is lent to one check at a time.
 */
export class KeptTargetSessions {
  // Insertion order is age: the first entry is the oldest.
  private readonly kept = new Map<string, Kept>()
  private closed = false

  constructor (private readonly maxKept: number, private readonly idleMs = KEPT_TARGET_IDLE_MS) {}

  /** The connection kept for `databaseUrl`, now the caller's (to give back with `keep` or close), with how long it sat idle. */
  take (databaseUrl: string): { client: pg.Client, idleMs: number } | undefined {
    const entry = this.kept.get(databaseUrl)
    if (entry === undefined) return undefined
    this.kept.delete(databaseUrl)
    clearTimeout(entry.timer)
    return { client: entry.client, idleMs: Date.now() - entry.keptAt }
  }

  /** Keeps `client` for the next check of `databaseUrl`, in place of one kept before (the newer session); closes it once the store is closed. */
  keep (databaseUrl: string, client: pg.Client): void {
    if (this.closed || this.maxKept < 1) {
      endQuietly(client)
      return
    }
    const previous = this.kept.get(databaseUrl)
    if (previous !== undefined) {
      this.kept.delete(databaseUrl)
      clearTimeout(previous.timer)
      endQuietly(previous.client)
    }
    for (const [url, oldest] of this.kept) {
      if (this.kept.size < this.maxKept) break
      this.kept.delete(url)
      clearTimeout(oldest.timer)
      endQuietly(oldest.client)
    }
    const timer = setTimeout(() => {
      if (this.kept.get(databaseUrl)?.client !== client) return
      this.kept.delete(databaseUrl)
      endQuietly(client)
    }, this.idleMs)
    // A kept connection never keeps the process alive.
    timer.unref()
    this.kept.set(databaseUrl, { client, timer, keptAt: Date.now() })
  }

  /** Closes every kept connection; later `keep` calls close theirs (graceful shutdown). */
  async close (): Promise<void> {
    this.closed = true
    const entries = [...this.kept.values()]
    this.kept.clear()
    await Promise.all(entries.map(async ({ client, timer }) => {
      clearTimeout(timer)
      await client.end().catch(() => {})
    }))
  }
}

function endQuietly (client: pg.Client): void {
  client.end().catch(() => {})
}
