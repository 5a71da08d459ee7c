import { Queue } from 'bullmq'
import type { RedisConnections } from '../redis/connections.js'
import type { WebhookEvent } from '../config/schema.js'

/** One webhook delivery: the exact body is fixed when it is queued, so every retry signs the same bytes. */
export interface WebhookJobData {
  deliveryId: string
  /** The deployment it is about; null for an environment's moment (the drift watch). */
  deploymentId: string | null
  /** For an environment's moment: which environment (its delivery attempts go in its audit trail). */
  environment?: string
  event: WebhookEvent
  /** Index of the webhook in `notifications.webhooks`; its URL and secret are read from config on delivery. */
  webhook: number
  body: string
}

export type WebhookQueue = Queue<WebhookJobData, void, WebhookEvent>

/** The webhook queue lives beside the deployments queue: `<deployments queue>-webhooks`. */
export function webhookQueueName (deploymentQueueName: string): string {
  return `${deploymentQueueName}-webhooks`
}

export function createWebhookQueue (deploymentQueueName: string, redis: Pick<RedisConnections, 'queue'>): WebhookQueue {
  const name = webhookQueueName(deploymentQueueName)
  return new Queue<WebhookJobData, void, WebhookEvent>(name, {
    ...redis.queue(name),
    defaultJobOptions: { removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } }
  })
}
