import type { DeploymentResource } from '../schemas/deployment.js'
import type { ApprovalRow } from '../store/approvals.js'
import type { FleetFields } from '../store/read-deployment.js'
import type { DeploymentRow } from '../domain/index.js'
import { BadRequestError } from '../errors/index.js'

const iso = (date: Date | null): string | null => date === null ? null : date.toISOString()

function links (id: string): DeploymentResource['links'] {
  const self = `/deployments/${id}`
  return { self, approve: `${self}/approve`, reject: `${self}/reject`, cancel: `${self}/cancel`, log: `${self}/log`, events: `${self}/events`, targets: `${self}/targets` }
}

function summaryFields (row: DeploymentRow): Omit<DeploymentResource, 'plan' | 'steps' | 'approval'> {
  return {
    id: row.id,
    operation: row.operation,
    environment: row.environment,
    mode: row.mode,
    status: row.status,
    requested_by: row.requested_by,
    dry_run: row.dry_run,
    skip_backup: row.skip_backup,
    skip_health_check: row.skip_health_check,
    working_directory: row.working_directory,
    backup_id: row.backup_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    next_window_at: iso(row.next_window_at ?? null),
    window_override: row.window_override ?? null,
    source: row.source,
    report: row.report,
    links: links(row.id)
  }
}

/** The API's view of a deployment (SPEC §5): no internal columns, no uploaded bundle beyond the plan. */
export function toDeploymentResource (row: DeploymentRow, approvals: ApprovalRow[], fleet?: FleetFields): DeploymentResource {
  return {
    ...summaryFields(row),
    ...(fleet?.summary == null ? {} : { summary: fleet.summary }),
    ...(fleet?.retry_of == null ? {} : { retry_of: fleet.retry_of }),
    plan: row.plan,
    approval: row.approvals_required === 0
      ? null
      : {
          required: row.approvals_required,
          approvals: approvals.map((a) => ({ by: a.approver, at: a.created_at.toISOString(), comment: a.comment, plan_checksum: a.plan_checksum })),
          expires_at: iso(row.expires_at)
        },
    steps: row.steps
  }
}

export function toDeploymentSummary (row: DeploymentRow): Omit<DeploymentResource, 'plan' | 'steps' | 'approval'> {
  return summaryFields(row)
}

/** Opaque keyset cursor: the created_at and id of the last row of a page. */
export function encodeCursor (row: Pick<DeploymentRow, 'created_at' | 'id'>): string {
  return Buffer.from(`${row.created_at.toISOString()}|${row.id}`, 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string): { createdAt: Date, id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|')
  const date = new Date(createdAt ?? '')
  if (id === undefined || id === '' || Number.isNaN(date.getTime())) throw new BadRequestError('cursor is not valid: pass the next_cursor of a previous page unchanged', undefined, 'INVALID_CURSOR')
  return { createdAt: date, id }
}
