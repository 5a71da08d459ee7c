import type { Logger } from 'pino'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import type { Queryable } from '../store/pool.js'

/** How often a worker prunes the outbox: old rows can wait an hour, and one DELETE an hour costs nothing. */
const PRUNE_EVERY_MS = 60 * 60 * 1000
/** Rows deleted per statement, so a first prune of a large backlog never holds long locks. */
const BATCH = 5000

/**
 * Deletes notification outbox rows (`deployment_notifications`) dispatched more than
 * `retentionMs` ago. Rows not yet dispatched stay whatever their age: they are still owed to
 * the webhooks. The audit trail (`deployment_events`, which each row points at) is never touched.
 * Returns the number of rows deleted.
 */
export async function pruneNotificationOutbox (db: Queryable, retentionMs: number): Promise<number> {
  let deleted = 0
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM deployment_notifications WHERE event_id IN (
         SELECT event_id FROM deployment_notifications
          WHERE dispatched_at IS NOT NULL AND dispatched_at < now() - make_interval(secs => $1::double precision / 1000)
          LIMIT $2)`,
      [retentionMs, BATCH]
    )
    deleted += rowCount ?? 0
    if ((rowCount ?? 0) < BATCH) return deleted
  }
}

/** Prunes now and then every hour (many workers doing it at once is harmless); `stop` ends it. */
export function startOutboxPruning (db: Queryable, retentionMs: number, logger: Logger): { stop: () => Promise<void> } {
  let running: Promise<void> = Promise.resolve()
  const prune = (): void => {
    running = running.then(async () => {
      const deleted = await pruneNotificationOutbox(db, retentionMs)
      if (deleted > 0) logger.info({ deleted, retention_ms: retentionMs }, 'pruned dispatched notification outbox rows')
    }).catch((error: unknown) => { logger.warn({ err: { message: safeErrorMessage(error) } }, 'pruning the notification outbox failed; the next run retries') })
  }
  prune()
  const timer = setInterval(prune, PRUNE_EVERY_MS)
  timer.unref()
  return { stop: async () => { clearInterval(timer); await running } }
}
