import type { WebhookConfig, WebhookEvent } from '../config/schema.js'

/** What a webhook's subscription is decided on: the moment, and the deployment's environment and kind. */
export interface NotificationMoment {
  kind: WebhookEvent
  environment: string
  dry_run: boolean
}

/**
 * Whether `webhook` hears about this moment: one of its `events`, in one of its `environments`
 * (all when unset), and not a dry run unless it sets `previews: true` (a CI previewing every
 * commit would otherwise send a `succeeded` per preview).
 */
export function webhookSubscribes (webhook: WebhookConfig, moment: NotificationMoment): boolean {
  if (!webhook.events.includes(moment.kind)) return false
  if (webhook.environments !== undefined && !webhook.environments.includes(moment.environment)) return false
  return !moment.dry_run || webhook.previews
}
