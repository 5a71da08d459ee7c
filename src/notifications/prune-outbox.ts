import type { Logger } from 'pino'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { pruneNotificationOutbox } from '../store/notifications.js'
import type { Queryable } from '../store/pool.js'

/** How often a worker prunes the outbox: old rows can wait an hour, and one DELETE an hour costs nothing. */
const PRUNE_EVERY_MS = 60 * 60 * 1000

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
