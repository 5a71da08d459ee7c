import type { Config } from '../config/load.js'
import type { EnvironmentWebhookEvent } from '../config/schema.js'
import { maskSecrets } from '../lib/mask-secrets.js'
import type { DriftChange } from '../store/drift.js'
import type { EnvironmentNotificationRow } from '../store/notifications.js'

/** Objects named in the `text` line; the full list is in `environment.changes`. */
const NAMED_IN_TEXT = 10

/** The JSON a webhook receives for an environment's moment (the drift watch): no deployment, the environment instead. */
export interface EnvironmentWebhookPayload {
  event: EnvironmentWebhookEvent
  delivery_id: string
  occurred_at: string
  /** One line a chat tool (Slack, Mattermost, Teams) shows as is. */
  text: string
  environment: {
    name: string
    /** The objects that differ from what the last deployment left, by name (empty for drift.resolved). */
    changes: DriftChange[]
    /** The deployment whose end the comparison is against (null: the watch's first reading). */
    baseline_deployment_id: string | null
    links: { status: string, baseline: string | null }
  }
  deployment: null
}

function changesOf (data: Record<string, unknown> | null): DriftChange[] {
  const changes = data?.changes
  return Array.isArray(changes) ? changes as DriftChange[] : []
}

function describe (event: EnvironmentWebhookEvent, environment: string, changes: DriftChange[], statusLink: string): string {
  if (event === 'drift.resolved') return `✅ Drift on ${environment} resolved: the schema matches what the last deployment left again. Status: ${statusLink}`
  const named = changes.slice(0, NAMED_IN_TEXT).map((c) => `${c.object} (${c.change})`).join(', ')
  const more = changes.length > NAMED_IN_TEXT ? ` and ${changes.length - NAMED_IN_TEXT} more` : ''
  const count = `${changes.length} object${changes.length === 1 ? '' : 's'}`
  return `⚠ Drift on ${environment}: ${count} changed outside migration-deployer: ${named}${more}. Status: ${statusLink}`
}

/**
 * The payload of `drift.detected` (with the objects that changed, by name) or `drift.resolved`,
 * built from the drift watch's event. Object names come from the target's catalog and are not
 * secrets; the text is masked all the same, like every payload.
 */
export function buildEnvironmentWebhookPayload (input: {
  event: EnvironmentWebhookEvent
  deliveryId: string
  row: EnvironmentNotificationRow
  config: Config
}): EnvironmentWebhookPayload {
  const { event, row, config } = input
  const base = (config.notifications.public_url ?? '').replace(/\/+$/, '')
  const status = `${base}/environments/${encodeURIComponent(row.environment)}/status`
  const changes = event === 'drift.detected' ? changesOf(row.data) : []
  const baseline = typeof row.data?.baseline_deployment_id === 'string' && row.data.baseline_deployment_id !== '' ? row.data.baseline_deployment_id : null
  return {
    event,
    delivery_id: input.deliveryId,
    occurred_at: row.occurred_at.toISOString(),
    text: maskSecrets(describe(event, row.environment, changes, status)),
    environment: {
      name: row.environment,
      changes: changes.map((c) => ({ object: c.object, change: c.change })),
      baseline_deployment_id: baseline,
      links: { status, baseline: baseline === null ? null : `${base}/deployments/${baseline}` }
    },
    deployment: null
  }
}
