import type { Config } from '../config/load.js'
import type { DeploymentWebhookEvent } from '../config/schema.js'
import { maskSecrets } from '../lib/mask-secrets.js'
import type { DeploymentRow } from '../domain/index.js'

export interface WebhookPayload {
  event: DeploymentWebhookEvent
  delivery_id: string
  occurred_at: string
  /** One line a chat tool (Slack, Mattermost, Teams) shows as is. */
  text: string
  deployment: Record<string, unknown>
  approval: Record<string, unknown> | null
}

function links (config: Config, id: string): Record<string, string> {
  const base = (config.notifications.public_url ?? '').replace(/\/+$/, '')
  const self = `${base}/deployments/${id}`
  return { self, approve: `${self}/approve`, reject: `${self}/reject`, log: `${self}/log`, events: `${self}/events` }
}

function whoApproves (config: Config, environment: string): string {
  const approval = config.environments[environment]?.approval
  if (approval === undefined) return 'an approver'
  if (approval.approvers !== undefined && approval.approvers.length > 0) return `one of ${approval.approvers.join(', ')}`
  return `someone with the role ${approval.roles.join(' or ')}`
}

function describe (event: DeploymentWebhookEvent, row: DeploymentRow, config: Config, link: Record<string, string>): string {
  const target = `${row.id} → ${row.environment}`
  const commit = row.source?.commit === undefined ? '' : ` at ${row.source.commit.slice(0, 12)}`
  const report = row.report as { message?: string, error?: string } | null
  switch (event) {
    case 'pending_approval': {
      const count = row.plan?.pending_migrations ?? 0
      const approval = config.environments[row.environment]?.approval
      const required = row.approvals_required > 0 ? row.approvals_required : approval?.required_approvals ?? 1
      const notSelf = approval?.allow_self_approval === true ? '' : ` (not ${row.requested_by})`
      return `⏸ Approval needed: ${target}, ${count} migration${count === 1 ? '' : 's'} requested by ${row.requested_by}${commit}. Needs ${required} approval${required === 1 ? '' : 's'} from ${whoApproves(config, row.environment)}${notSelf}. Review and approve: ${link.self} (POST ${link.approve})`
    }
    case 'succeeded': return `✅ ${target} succeeded: ${report?.message ?? 'done'}. Log: ${link.log}`
    case 'failed': return `❌ ${target} failed: ${report?.error ?? 'see the log'}. Log: ${link.log}`
    case 'rejected': return `⛔ ${target} rejected: ${report?.error ?? ''}. ${link.self}`
    case 'expired': return `⌛ ${target} expired without enough approvals; nothing was applied. ${link.self}`
    case 'cancelled': return `⛔ ${target} cancelled: ${report?.error ?? ''}. ${link.self}`
    case 'waiting_for_window': return `⏳ ${target} is approved and waits for its deployment window; it starts by itself at ${row.next_window_at?.toISOString() ?? 'the next window'}. ${link.self}`
    case 'window.overridden': return `⚠ ${target}: deployment window overridden by ${row.window_override?.by ?? 'an admin'}: ${row.window_override?.reason ?? ''}. ${link.self}`
  }
}

/**
 * The JSON a webhook receives: what happened, to which deployment, a `text` line for chat tools
 * (who must approve and the link, for approvals), and the plan and report summaries. Secrets are
 * masked; target URLs are never part of a deployment, so none can leak.
 */
export function buildWebhookPayload (input: {
  event: DeploymentWebhookEvent
  deliveryId: string
  occurredAt: Date
  deployment: DeploymentRow
  config: Config
}): WebhookPayload {
  const { event, deployment: row, config } = input
  const link = links(config, row.id)
  const approval = config.environments[row.environment]?.approval
  const report = row.report as { status?: string; message?: string; error?: string } | null
  return {
    event,
    delivery_id: input.deliveryId,
    occurred_at: input.occurredAt.toISOString(),
    text: maskSecrets(describe(event, row, config, link)),
    deployment: {
      id: row.id,
      operation: row.operation,
      environment: row.environment,
      status: event,
      requested_by: row.requested_by,
      dry_run: row.dry_run,
      skip_backup: row.skip_backup,
      skip_health_check: row.skip_health_check,
      source: row.source,
      created_at: row.created_at.toISOString(),
      finished_at: row.finished_at?.toISOString() ?? null,
      next_window_at: row.next_window_at?.toISOString() ?? null,
      window_override: row.window_override ?? null,
      plan:
        row.plan === null
          ? null
          : {
              checksum: row.plan.checksum,
              pending_migrations: row.plan.pending_migrations,
              migrations: row.plan.migrations.map((m) => ({ name: m.name, checksum: m.checksum, warnings: m.warnings }))
            },
      report:
        report === null
          ? null
          : {
              status: report.status ?? null,
              message: report.message === undefined ? null : maskSecrets(report.message),
              error: report.error === undefined ? null : maskSecrets(report.error)
            },
      links: link
    },
    approval:
      event !== 'pending_approval' || approval === undefined
        ? null
        : {
            required: row.approvals_required,
            roles: [...approval.roles],
            approvers: approval.approvers ?? null,
            allow_self_approval: approval.allow_self_approval,
            expires_at: row.expires_at?.toISOString() ?? null
          }
  }
}
