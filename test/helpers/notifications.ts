import { startNotifications } from '../../src/notifications/index.js'
import type { Harness } from './harness.js'

/**
 * The notification service (outbox dispatch, webhook delivery) of a harness, with `env` as the
 * worker's environment (webhook secrets); closed, and its queue emptied, at the test's teardown.
 */
export async function startHarnessNotifications (
  t: { teardown: (fn: () => Promise<void>) => void },
  h: Harness,
  env: Record<string, string>
): Promise<Awaited<ReturnType<typeof startNotifications>>> {
  const notifications = await startNotifications({
    pool: h.runtime.pool,
    config: h.config,
    logger: h.runtime.logger,
    env,
    queueName: h.runtime.settings.queueName,
    redis: h.runtime.redisConnections
  })
  t.teardown(async () => { await notifications.close(); await notifications.queue.obliterate({ force: true }).catch(() => {}) })
  return notifications
}
