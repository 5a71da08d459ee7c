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

/**
 * The deployment whose turn it is to apply to `environment`: the lowest ticket among the
 * unfinished ones that will apply in their current phase. A deployment in its `apply` phase
 * always will; one in its `plan` phase will only where plans apply without approval
 * (`planPhaseApplies`). Dry runs never apply.
 */
export async function applyQueueHead (db: Queryable, environment: string, planPhaseApplies: boolean): Promise<QueuedApply | undefined> {
  const { rows } = await db.query<QueuedApply>(
    `SELECT id, phase, status, apply_ticket FROM deployments
      WHERE environment = $1 AND status IN ('queued', 'running') AND NOT dry_run
        AND (phase = 'apply' OR $2::boolean)
      ORDER BY apply_ticket, id
      LIMIT 1`,
    [environment, planPhaseApplies]
  )
  return rows[0]
}

/** How many deployments are ahead of `ticket` in the environment's queue. */
export async function countAhead (db: Queryable, environment: string, planPhaseApplies: boolean, ticket: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deployments
      WHERE environment = $1 AND status IN ('queued', 'running') AND NOT dry_run
        AND (phase = 'apply' OR $2::boolean) AND apply_ticket < $3`,
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
