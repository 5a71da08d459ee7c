import { createHmac } from 'node:crypto'
import { UnrecoverableError, type Job } from 'bullmq'
import type pg from 'pg'
import type { Config } from '../config/load.js'
import type { WebhookEvent } from '../config/schema.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { webhookDeliveries } from '../metrics/process-metrics.js'
import { SYSTEM_ACTOR } from '../domain/index.js'
import { appendEnvironmentEvent, appendEvent } from '../store/events.js'
import { WebhookAddressRefusedError } from './guarded-lookup.js'
import { postWebhook } from './post-webhook.js'
import type { WebhookJobData } from './webhook-queue.js'

/** `sha256=<hex>` of HMAC-SHA256(secret, body): what `X-Deployer-Signature` carries. */
export function signWebhookBody (secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

export interface DeliveryContext {
  pool: pg.Pool
  config: Config
  env: NodeJS.ProcessEnv
}

/** Responses worth retrying: server errors, timeouts, rate limits. Other 4xx will not change. */
const retryable = (status: number): boolean => status >= 500 || status === 408 || status === 429

/**
 * One delivery attempt, as a BullMQ processor: POST the queued body signed with the webhook's
 * secret, record the attempt in the audit trail (the deployment's, or the environment's), and throw to have BullMQ retry
 * with backoff (or UnrecoverableError when retrying cannot help).
 */
export async function deliverWebhook (ctx: DeliveryContext, job: Job<WebhookJobData, void, WebhookEvent>): Promise<void> {
  const { data } = job
  const attempt = job.attemptsMade + 1
  const attempts = job.opts.attempts ?? 1
  const webhook = ctx.config.notifications.webhooks[data.webhook]
  const started = performance.now()
  let statusCode: number | null = null
  let error: string | null = null
  let permanent = false
  if (webhook === undefined) {
    error = `webhook #${data.webhook} is no longer configured`
    permanent = true
  } else {
    const secret = ctx.env[webhook.secret_env]
    if (secret === undefined || secret === '') {
      error = `the signing secret variable ${webhook.secret_env} is not set in the worker's environment`
      permanent = true
    } else {
      try {
        statusCode = await postWebhook({
          url: webhook.url,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'migration-deployer-webhooks/0.1.0',
            'x-deployer-event': data.event,
            'x-deployer-delivery': data.deliveryId,
            'x-deployer-signature': signWebhookBody(secret, data.body)
          },
          body: data.body,
          timeoutMs: ctx.config.notifications.timeout,
          allowPrivateAddresses: webhook.allow_private_addresses
        })
        if (statusCode < 200 || statusCode > 299) {
          error = `the receiver answered ${statusCode}`
          permanent = !retryable(statusCode)
        }
      } catch (cause) {
        const name = (cause as Error).name
        // A refused address stays refused: retrying would only knock on the same door again.
        permanent = cause instanceof WebhookAddressRefusedError
        error = name === 'AbortError' || name === 'TimeoutError' ? `no answer within ${ctx.config.notifications.timeout} ms` : safeErrorMessage(cause)
      }
    }
  }
  const outcome = error === null ? 'delivered' : permanent || attempt >= attempts ? 'gave_up' : 'failed'
  webhookDeliveries.inc({ event: data.event, outcome })
  const audited = {
    delivery_id: data.deliveryId,
    event: data.event,
    webhook: data.webhook,
    // The host only: webhook URLs often carry their own secret in the path.
    host: webhook === undefined ? null : new URL(webhook.url).host,
    attempt,
    attempts,
    status_code: statusCode,
    outcome,
    error,
    duration_ms: Math.round(performance.now() - started)
  }
  if (data.deploymentId !== null) await appendEvent(ctx.pool, { deploymentId: data.deploymentId, type: 'webhook_delivery', data: audited })
  else await appendEnvironmentEvent(ctx.pool, { environment: data.environment ?? '', type: 'webhook_delivery', actor: SYSTEM_ACTOR, data: audited })
  if (error === null) return
  if (permanent) throw new UnrecoverableError(error)
  throw new Error(error)
}
