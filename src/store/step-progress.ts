import type { Step } from '../domain/index.js'
import type { Queryable } from './pool.js'

/**
 * Saves a running deployment's steps and appends the audit event that says what changed
 * (`step_started`, `step_finished`) in one statement: one round trip instead of two, and no
 * reader ever sees the event without the steps it describes, or the other way round.
 */
export async function saveStepsWithEvent (
  db: Queryable,
  deploymentId: string,
  steps: Step[],
  event: { type: string; actor: string; data: Record<string, unknown> }
): Promise<void> {
  await db.query(
    `WITH saved AS (UPDATE deployments SET steps = $2, updated_at = now() WHERE id = $1)
     INSERT INTO deployment_events (deployment_id, type, actor, message, data) VALUES ($1, $3, $4, NULL, $5)`,
    [deploymentId, JSON.stringify(steps), event.type, event.actor, JSON.stringify(event.data)]
  )
}
