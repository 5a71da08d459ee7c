import { LOCK_NAMESPACES } from './control-locks.js'
import type { DeploymentRow } from '../domain/index.js'
import type { Queryable } from './pool.js'

export type QueuedApply = Pick<DeploymentRow, 'id' | 'phase' | 'status'> & { apply_ticket: number }

/** What the job gate needs of a deployment: the small columns only (never the uploaded migrations). */
export type DeploymentTurnState = Pick<DeploymentRow, 'id' | 'status' | 'phase' | 'environment' | 'dry_run'> & { apply_ticket: number }

export async function getTurnState (db: Queryable, deploymentId: string): Promise<DeploymentTurnState | undefined> {
  const { rows } = await db.query<DeploymentTurnState>('SELECT id, status, phase, environment, dry_run, apply_ticket FROM deployments WHERE id = $1', [deploymentId])
  return rows[0]
}

/** A deployment's turn state and, in the same snapshot, the id of the first in its environment's line (null when the line is empty). */
export type DeploymentTurn = DeploymentTurnState & { head_id: string | null }

/**
 * Which unfinished deployments of environment `<alias>.environment` are in its line to apply:
 * `$planAppliesParam` is a boolean (applyQueueHead, countAhead) or a text[] of the environments
 * whose plans apply (getTurnWithHead), so every reader of the line uses the same rule.
 */
function inLine (alias: string, environment: string, planApplies: string): string {
  return `${alias}.environment = ${environment} AND ${alias}.status IN ('queued', 'running') AND NOT ${alias}.dry_run AND (${alias}.phase = 'apply' OR ${planApplies})`
}

/**
 * The job gate's look at a deployment: its turn state and the head of its environment's line
 * (applyQueueHead) in one statement. `planAppliesIn` names the environments whose plan phase
 * applies (`planPhaseApplies`).
 */
export async function getTurnWithHead (db: Queryable, deploymentId: string, planAppliesIn: string[]): Promise<DeploymentTurn | undefined> {
  const { rows } = await db.query<DeploymentTurn>(
    `SELECT d.id, d.status, d.phase, d.environment, d.dry_run, d.apply_ticket,
            (SELECT h.id FROM deployments h WHERE ${inLine('h', 'd.environment', 'd.environment = ANY($2::text[])')}
              ORDER BY h.apply_ticket, h.id LIMIT 1) AS head_id
       FROM deployments d WHERE d.id = $1`,
    [deploymentId, planAppliesIn]
  )
  return rows[0]
}

/**
 * The deployment whose turn it is to apply to `environment`: the lowest ticket among the
 * unfinished ones that will apply in their current phase. A deployment in its `apply` phase
 * always will; one in its `plan` phase will only where plans apply without approval
 * (`planPhaseApplies`). Dry runs never apply.
 */
export async function applyQueueHead (db: Queryable, environment: string, planPhaseApplies: boolean): Promise<QueuedApply | undefined> {
  const { rows } = await db.query<QueuedApply>(
    `SELECT id, phase, status, apply_ticket FROM deployments d
      WHERE ${inLine('d', '$1', '$2::boolean')}
      ORDER BY apply_ticket, id
      LIMIT 1`,
    [environment, planPhaseApplies]
  )
  return rows[0]
}

/** How many deployments are ahead of `ticket` in the environment's queue. */
export async function countAhead (db: Queryable, environment: string, planPhaseApplies: boolean, ticket: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deployments d
      WHERE ${inLine('d', '$1', '$2::boolean')} AND apply_ticket < $3`,
    [environment, planPhaseApplies, ticket]
  )
  return rows[0]?.n ?? 0
}

/**
 * A new place at the back of the environment's line, inside the caller's transaction: taken
 * when a deployment is created (unprotected environments apply in order of request) and when an
 * approval releases it (approved plans apply in order of approval). The transaction lock makes
 * tickets commit in the order they are taken, so a lower ticket never appears after a higher
 * one has been seen (a sequence alone would let a slow transaction commit a lower number later).
 */
export async function takeApplyTicket (db: Queryable, deploymentId: string, environment: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACES.applyTicket, environment])
  await db.query(`UPDATE deployments SET apply_ticket = nextval('deployment_apply_ticket_seq') WHERE id = $1`, [deploymentId])
}

/** A deployment's place in its environment's queue. */
export async function applyTicketOf (db: Queryable, deploymentId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ apply_ticket: number }>('SELECT apply_ticket FROM deployments WHERE id = $1', [deploymentId])
  return rows[0]?.apply_ticket
}
