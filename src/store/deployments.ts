import type { ActorIdentity, DeploymentRow, DeploymentStatus, Phase } from '../domain/index.js'
import { SYSTEM_ACTOR, TERMINAL_STATUSES } from '../domain/index.js'
import { LOCK_NAMESPACES } from './control-locks.js'
import type { Queryable } from './pool.js'

export type NewDeployment = Pick<DeploymentRow,
  'id' | 'operation' | 'environment' | 'mode' | 'requested_by' | 'dry_run' | 'skip_backup' | 'skip_health_check' | 'working_directory' | 'source' | 'inline_migrations'> &
  { backup_id?: string | null, requested_identity?: ActorIdentity | null }

/**
 * The columns the API shows of a deployment. The uploaded bundle and the source snapshot (which
 * can be megabytes) come back null: no resource shows them, and parsing them is what every read
 * would pay for. `prefix` qualifies them (`d.`).
 */
export function resourceColumns (prefix = ''): string {
  return ['id', 'operation', 'environment', 'mode', 'status', 'phase', 'requested_by', 'dry_run', 'skip_backup', 'skip_health_check',
    'working_directory', 'backup_id', 'source', 'plan', 'approvals_required', 'expires_at', 'next_window_at', 'window_override', 'steps', 'report',
    'created_at', 'updated_at', 'started_at', 'finished_at', 'requested_identity'].map((column) => `${prefix}${column}`).join(', ') +
    ', NULL::jsonb AS inline_migrations, NULL::jsonb AS source_snapshot'
}

/** What recording a new deployment writes: the row and its `created` audit event. */
export interface DeploymentToInsert {
  deployment: NewDeployment
  created: { actor: string, data: Record<string, unknown> }
}

// The rows come in as one JSON array (any number of them, one statement), each with its
// position, so tickets are numbered in the order the rows were given.
const INSERT_DEPLOYMENTS = `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(position int, id text, operation text, environment text, mode text, requested_by text,
         dry_run boolean, skip_backup boolean, skip_health_check boolean, working_directory text, source jsonb, inline_migrations jsonb,
         backup_id text, requested_identity jsonb, actor text, data jsonb)
     ), in_line AS (
       SELECT pg_advisory_xact_lock($2, hashtext(environment))
         FROM (SELECT DISTINCT environment FROM input WHERE NOT dry_run ORDER BY environment) AS environments
     ), inserted AS (
       INSERT INTO deployments (id, operation, environment, mode, status, phase, requested_by, requested_identity, dry_run, skip_backup, skip_health_check,
              working_directory, source, inline_migrations, backup_id, apply_ticket)
       SELECT i.id, i.operation, i.environment, i.mode, 'queued', 'plan', i.requested_by, i.requested_identity, i.dry_run, i.skip_backup, i.skip_health_check,
              i.working_directory, i.source, i.inline_migrations, i.backup_id, nextval('deployment_apply_ticket_seq')
         FROM input AS i, (SELECT count(*) FROM in_line) AS locked
        ORDER BY i.position
       RETURNING ${resourceColumns()}
     ), created AS (
       INSERT INTO deployment_events (deployment_id, type, actor, actor_identity, message, data)
       SELECT i.id, 'created', i.actor, i.requested_identity, NULL, i.data FROM input AS i JOIN inserted USING (id) ORDER BY i.position
     )
     SELECT * FROM inserted`

/**
 * Records new deployments, `queued` for their plan phase, each with its `created` audit event
 * and its place in its environment's apply line, in ONE statement: all or nothing like a
 * transaction around them, in one round trip however many there are (the API records the
 * deployments of concurrent requests together; see batched()). Deployments that may apply take
 * their tickets under their environments' transaction locks, as takeApplyTicket does (tickets
 * commit in the order they are taken): every lock is taken, environments in name order so two
 * statements never wait for each other, before the first `nextval` (the insert selects from their
 * count). Dry runs never apply and take their numbers without a lock.
 * The rows come back in the order given, without the uploaded bundle (see resourceColumns).
 */
export async function insertDeployments (db: Queryable, items: readonly DeploymentToInsert[]): Promise<DeploymentRow[]> {
  const input = items.map(({ deployment, created }, position) => ({
    position,
    id: deployment.id,
    operation: deployment.operation,
    environment: deployment.environment,
    mode: deployment.mode,
    requested_by: deployment.requested_by,
    dry_run: deployment.dry_run,
    skip_backup: deployment.skip_backup,
    skip_health_check: deployment.skip_health_check,
    working_directory: deployment.working_directory,
    source: deployment.source,
    inline_migrations: deployment.inline_migrations,
    backup_id: deployment.backup_id ?? null,
    requested_identity: deployment.requested_identity ?? null,
    actor: created.actor,
    data: created.data
  }))
  // Named: each connection parses and plans it once, not on every request.
  const { rows } = await db.query<DeploymentRow>({ name: 'insert-deployments', text: INSERT_DEPLOYMENTS, values: [JSON.stringify(input), LOCK_NAMESPACES.applyTicket] })
  const byId = new Map(rows.map((row) => [row.id, row]))
  return items.map(({ deployment }) => byId.get(deployment.id) as DeploymentRow)
}

/** Records one new deployment (see insertDeployments). */
export async function insertDeployment (db: Queryable, deployment: NewDeployment, created: DeploymentToInsert['created']): Promise<DeploymentRow> {
  const [row] = await insertDeployments(db, [{ deployment, created }])
  return row as DeploymentRow
}

/** Whether a deployment of this id exists (a cheap check before streaming its events). */
export async function deploymentExists (db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM deployments WHERE id = $1', [id])
  return (rowCount ?? 0) > 0
}

/** The environment of a deployment, or undefined when there is no such deployment. */
export async function deploymentEnvironment (db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ environment: string }>('SELECT environment FROM deployments WHERE id = $1', [id])
  return rows[0]?.environment
}

export async function getDeployment (db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<DeploymentRow | undefined> {
  const { rows } = await db.query<DeploymentRow>(`SELECT * FROM deployments WHERE id = $1${options.forUpdate === true ? ' FOR UPDATE' : ''}`, [id])
  return rows[0]
}

export interface ListFilter {
  environment?: string | undefined
  /** Only these environments (a principal's readable ones); undefined: all. */
  environments?: readonly string[] | undefined
  status?: DeploymentStatus | undefined
  limit: number
  /** Keyset cursor: the last row of the previous page. */
  before?: { createdAt: Date, id: string } | undefined
}

/** Newest first, keyset-paged; leaves out the large columns a list does not show. */
export async function listDeployments (db: Queryable, filter: ListFilter): Promise<DeploymentRow[]> {
  const conditions: string[] = []
  const values: unknown[] = []
  if (filter.environment !== undefined) { values.push(filter.environment); conditions.push(`environment = $${values.length}`) }
  if (filter.environments !== undefined) { values.push(filter.environments); conditions.push(`environment = ANY($${values.length})`) }
  if (filter.status !== undefined) { values.push(filter.status); conditions.push(`status = $${values.length}`) }
  if (filter.before !== undefined) {
    values.push(filter.before.createdAt, filter.before.id)
    conditions.push(`(created_at, id) < ($${values.length - 1}, $${values.length})`)
  }
  values.push(filter.limit)
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''
  const { rows } = await db.query<DeploymentRow>(
    `SELECT id, operation, environment, mode, status, phase, requested_by, dry_run, skip_backup, skip_health_check, working_directory, backup_id,
            source, NULL::jsonb AS inline_migrations, NULL::jsonb AS source_snapshot, NULL::jsonb AS plan, approvals_required, expires_at, next_window_at, window_override,
            '[]'::jsonb AS steps, report, created_at, updated_at, started_at, finished_at
       FROM deployments ${where}
      ORDER BY created_at DESC, id DESC
      LIMIT $${values.length}`,
    values
  )
  return rows
}

export type DeploymentPatch = Partial<Pick<DeploymentRow, 'status' | 'phase' | 'mode' | 'plan' | 'source_snapshot' | 'approvals_required' | 'expires_at' |
  'next_window_at' | 'window_override' | 'steps' | 'report' | 'started_at' | 'finished_at'>>

const JSON_COLUMNS = new Set(['plan', 'source_snapshot', 'steps', 'report', 'window_override'])

/**
 * Updates a deployment only if its status is one of `from`: the single place state changes
 * happen, so two actors (a worker and a cancel, two approvers) can never both win.
 * Returns the updated row, or undefined when the status had already moved on.
 */
export async function transitionDeployment (
  db: Queryable,
  id: string,
  from: readonly DeploymentStatus[],
  patch: DeploymentPatch
): Promise<DeploymentRow | undefined> {
  const sets: string[] = ['updated_at = now()']
  const values: unknown[] = [id, from]
  for (const [column, value] of Object.entries(patch)) {
    if (value === undefined) continue
    values.push(JSON_COLUMNS.has(column) && value !== null ? JSON.stringify(value) : value)
    sets.push(`${column} = $${values.length}`)
  }
  if (patch.status !== undefined && TERMINAL_STATUSES.includes(patch.status) && patch.finished_at === undefined) sets.push('finished_at = now()')
  const { rows } = await db.query<DeploymentRow>(`UPDATE deployments SET ${sets.join(', ')} WHERE id = $1 AND status = ANY($2) RETURNING *`, values)
  return rows[0]
}

/** Deployments that are not finished: used to find work whose queue job went missing. */
export async function listUnfinishedDeployments (db: Queryable): Promise<Array<Pick<DeploymentRow, 'id' | 'status' | 'phase' | 'environment' | 'dry_run'>>> {
  const { rows } = await db.query<Pick<DeploymentRow, 'id' | 'status' | 'phase' | 'environment' | 'dry_run'>>(
    `SELECT id, status, phase, environment, dry_run FROM deployments WHERE status IN ('queued', 'running') ORDER BY created_at`
  )
  return rows
}

/**
 * Claims a deployment for a worker's phase: `queued` becomes `running`, and its `status_changed`
 * event is written by the same statement (the audit never misses it, whatever fails next). A
 * `running` row of the same phase is claimed again, with no event (it did not change), because
 * that is a job handed over after a worker died or lost the control database (job ids are
 * unique per phase, so two workers never hold the same phase at once).
 */
export async function claimDeployment (db: Queryable, id: string, phase: Phase): Promise<DeploymentRow | undefined> {
  const { rows } = await db.query<DeploymentRow>(
    `WITH before AS (
       SELECT id, status FROM deployments WHERE id = $1 AND phase = $2 AND status IN ('queued', 'running') FOR UPDATE
     ), claimed AS (
       UPDATE deployments d SET status = 'running', started_at = COALESCE(d.started_at, now()), updated_at = now()
         FROM before WHERE d.id = before.id
         RETURNING d.*, before.status AS claimed_from
     ), noted AS (
       INSERT INTO deployment_events (deployment_id, type, actor, data)
       SELECT id, 'status_changed', $3, jsonb_build_object('from', 'queued', 'to', 'running', 'phase', $2::text) FROM claimed WHERE claimed_from = 'queued'
     )
     SELECT * FROM claimed`,
    [id, phase, SYSTEM_ACTOR]
  )
  const row = rows[0] as (DeploymentRow & { claimed_from?: string }) | undefined
  if (row !== undefined) delete row.claimed_from
  return row
}

/** Deployments waiting for approval and when their window closes: their expiry jobs must exist. */
export async function listPendingApprovalExpiries (db: Queryable): Promise<Array<{ id: string, expires_at: Date }>> {
  const { rows } = await db.query<{ id: string, expires_at: Date }>(
    `SELECT id, expires_at FROM deployments WHERE status = 'pending_approval' AND expires_at IS NOT NULL ORDER BY expires_at`
  )
  return rows
}

/** How many deployments are not finished, by environment and status (`queued`, `running`, `pending_approval`, `waiting_for_window`). */
export async function countUnfinishedDeployments (db: Queryable): Promise<Array<{ environment: string, status: DeploymentStatus, n: number }>> {
  const { rows } = await db.query<{ environment: string, status: DeploymentStatus, n: number }>(
    `SELECT environment, status, count(*)::int AS n FROM deployments WHERE status IN ('queued', 'running', 'pending_approval', 'waiting_for_window')
      GROUP BY environment, status`
  )
  return rows
}

/** Deployments waiting for their window and when it opens: their window jobs must exist. */
export async function listWindowWaits (db: Queryable): Promise<Array<{ id: string, next_window_at: Date }>> {
  const { rows } = await db.query<{ id: string, next_window_at: Date }>(
    `SELECT id, next_window_at FROM deployments WHERE status = 'waiting_for_window' AND next_window_at IS NOT NULL ORDER BY next_window_at`
  )
  return rows
}
