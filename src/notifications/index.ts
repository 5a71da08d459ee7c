import { Worker } from 'bullmq'
import type { RedisConnections } from '../redis/connections.js'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import type { WebhookEvent } from '../config/schema.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { PgListener } from '../store/pg-listener.js'
import { deliverWebhook } from './deliver-webhook.js'
import { DISPATCH_BATCH_SIZE, dispatchNotifications } from './dispatcher.js'
import { startOutboxPruning } from './prune-outbox.js'
import { createWebhookQueue, webhookQueueName, type WebhookJobData, type WebhookQueue } from './webhook-queue.js'

export const NOTIFICATIONS_CHANNEL = 'deployment_notifications'
/** A sweep this often catches anything a lost NOTIFY left behind. */
const SWEEP_MS = 10_000

export interface NotificationsOptions {
  pool: pg.Pool
  config: Config
  logger: Logger
  env: NodeJS.ProcessEnv
  /** The deployments queue's name; webhooks use `<name>-webhooks`. */
  queueName: string
  /** The process's Redis factory: the webhook queue and its worker connect through it. */
  redis: Pick<RedisConnections, 'queue'>
  concurrency?: number
}

export interface Notifications {
  queue: WebhookQueue
  worker: Worker<WebhookJobData, void, WebhookEvent>
  /** Dispatches what is waiting now (the listener and the sweep call this too). */
  dispatch: () => Promise<void>
  close: () => Promise<void>
}

/**
 * Runs in worker processes: dispatches the notification outbox (woken by NOTIFY, swept every
 * few seconds) into the webhook queue, delivers webhooks from it with retries, and prunes the
 * outbox's dispatched rows after `notifications.outbox_retention`.
 */
export async function startNotifications (options: NotificationsOptions): Promise<Notifications> {
  const { pool, config, logger } = options
  const queue = createWebhookQueue(options.queueName, options.redis)
  queue.on('error', (error) => logger.warn({ err: { message: safeErrorMessage(error) } }, 'webhook queue connection error'))
  for (const webhook of config.notifications.webhooks) {
    const secret = options.env[webhook.secret_env]
    if (secret === undefined || secret === '') logger.error({ host: new URL(webhook.url).host, secret_env: webhook.secret_env }, 'webhook signing secret variable is not set: its deliveries will fail')
  }
  if (config.notifications.webhooks.length > 0 && config.notifications.public_url === undefined) {
    logger.warn('notifications.public_url is not set: webhook payloads carry relative links')
  }

  const worker = new Worker<WebhookJobData, void, WebhookEvent>(webhookQueueName(options.queueName), async (job) => {
    await deliverWebhook({ pool, config, env: options.env }, job)
  }, { ...options.redis.queue(webhookQueueName(options.queueName)), concurrency: options.concurrency ?? 4 })
  worker.on('failed', (job, error) => logger.warn({ deployment_id: job?.data.deploymentId, delivery_id: job?.data.deliveryId, attempt: job?.attemptsMade, err: { message: safeErrorMessage(error) } }, 'webhook delivery failed'))
  worker.on('error', (error) => logger.error({ err: { message: safeErrorMessage(error) } }, 'webhook worker error'))

  let running: Promise<void> | undefined
  let again = false
  const dispatch = async (): Promise<void> => {
    if (running !== undefined) { again = true; return await running }
    running = (async () => {
      do {
        again = false
        try {
          // Again only after a full batch: a smaller one took all there was, and rows written
          // since then send their own NOTIFY (which sets `again`), or wait for the sweep.
          while (await dispatchNotifications({ pool, config, queue, logger }) >= DISPATCH_BATCH_SIZE) { /* next batch */ }
        } catch (error) {
          logger.warn({ err: { message: safeErrorMessage(error) } }, 'dispatching notifications failed; the next sweep retries')
        }
      } while (again)
    })().finally(() => { running = undefined })
    return await running
  }

  const listener = new PgListener(pool.options, [NOTIFICATIONS_CHANNEL], logger)
  listener.on(NOTIFICATIONS_CHANNEL, () => { void dispatch() })
  listener.onReconnect(() => { void dispatch() })
  await listener.ready().catch((error: unknown) => logger.warn({ err: { message: safeErrorMessage(error) } }, 'notification listener not connected; sweeping only'))
  const sweep = setInterval(() => { void dispatch() }, SWEEP_MS)
  sweep.unref()
  void dispatch()
  const pruning = startOutboxPruning(pool, config.notifications.outbox_retention, logger)

  return {
    queue,
    worker,
    dispatch,
    close: async () => {
      clearInterval(sweep)
      await pruning.stop()
      await listener.close()
      await running
      await worker.close()
      await queue.close()
    }
  }
}
