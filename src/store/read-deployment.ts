import pg from 'pg'
import type { ApprovalRow } from './approvals.js'
import { resourceColumns } from './deployments.js'
import type { DeploymentRow } from '../domain/index.js'
import type { FleetSummary } from './fleet-targets.js'
import type { Queryable } from './pool.js'

// Which versions of the rows a resource is made of: the deployment row's xmin (the transaction
// that wrote its current version: any UPDATE, whatever it changes, makes a new one) and those of
// its approvals. Equal versions mean equal rows, without reading the rows.
// A fleet's targets add how many there are, have started and have finished (SPEC §14).
const VERSION = `d.xmin::text || '/' || COALESCE((SELECT string_agg(a.xmin::text || ':' || a.approver, ',' ORDER BY a.approver) FROM approvals a WHERE a.deployment_id = d.id), '')
  || '/' || (SELECT count(*) || ':' || count(t.started_at) || ':' || count(t.finished_at) FROM fleet_targets t WHERE t.deployment_id = d.id)`

// Approvals come along as one JSON array, in the order listApprovals gives, with created_at
// as timestamptz text so it is parsed exactly as a timestamptz column would be.
const READ_DEPLOYMENT = `SELECT ${resourceColumns('d.')}, ${VERSION} AS version,
       (SELECT json_agg(json_build_object('deployment_id', a.deployment_id, 'approver', a.approver, 'comment', a.comment,
                                          'plan_checksum', a.plan_checksum, 'created_at', a.created_at::text)
                        ORDER BY a.created_at, a.approver)
          FROM approvals a WHERE a.deployment_id = d.id) AS approvals_json,
       (SELECT json_build_object('total', count(*), 'succeeded', count(*) FILTER (WHERE t.status = 'succeeded'),
                                 'failed', count(*) FILTER (WHERE t.status = 'failed'), 'skipped', count(*) FILTER (WHERE t.status = 'skipped'),
                                 'running', count(*) FILTER (WHERE t.status = 'running'), 'pending', count(*) FILTER (WHERE t.status = 'pending'))
          FROM fleet_targets t WHERE t.deployment_id = d.id HAVING count(*) > 0) AS fleet_summary,
       (SELECT r.retry_of FROM fleet_retries r WHERE r.deployment_id = d.id) AS retry_of
  FROM deployments d
 WHERE d.id = $1`

// Both named: each connection parses and plans them once (polling runs them thousands of times a second).
const READ_VERSION = `SELECT ${VERSION} AS version FROM deployments d WHERE d.id = $1`

const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date

type RawApproval = Omit<ApprovalRow, 'created_at'> & { created_at: string }

export interface DeploymentWithApprovals {
  row: DeploymentRow
  approvals: ApprovalRow[]
  /** The versions of the rows read (see readDeploymentVersion). */
  version: string
  /** A fleet deployment's counts by status, and the deployment a retry retries (SPEC §14). */
  fleet: FleetFields
}

export interface FleetFields {
  summary: FleetSummary | null
  retry_of: string | null
}

/**
 * A deployment and its approvals in one query on the primary keys of both tables: what
 * `GET /deployments/:id` shows. `inline_migrations` and `source_snapshot` come back null.
 */
export async function readDeploymentWithApprovals (db: Queryable, id: string): Promise<DeploymentWithApprovals | undefined> {
  type Read = DeploymentRow & { version: string, approvals_json: RawApproval[] | null, fleet_summary: FleetSummary | null, retry_of: string | null }
  const { rows } = await db.query<Read>(
    { name: 'read-deployment', text: READ_DEPLOYMENT, values: [id] }
  )
  const found = rows[0]
  if (found === undefined) return undefined
  const { approvals_json: approvalsJson, version, fleet_summary: summary, retry_of: retryOf, ...row } = found
  const approvals = (approvalsJson ?? []).map((approval) => ({ ...approval, created_at: parseTimestamptz(approval.created_at) }))
  return { row, approvals, version, fleet: { summary, retry_of: retryOf } }
}

/**
 * The current version of a deployment and its approvals, without reading them: equal to the
 * `version` of an earlier read exactly when nothing of what it read has changed since. Undefined
 * when there is no such deployment.
 */
export async function readDeploymentVersion (db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ version: string }>({ name: 'read-deployment-version', text: READ_VERSION, values: [id] })
  return rows[0]?.version
}
