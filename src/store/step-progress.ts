import type { Step } from '../domain/index.js'
import type { NewEvent } from './events.js'
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

/**
 * Appends several events of one deployment in one statement, in the order given (a multi-row
 * VALUES numbers its rows in order), and saves its steps in the same statement when `steps` is
 * given: what several `saveStepsWithEvent` and `appendEvent` calls in a row would write, in one
 * round trip, all or nothing.
 */
export async function saveStepsWithEvents (db: Queryable, deploymentId: string, steps: Step[] | undefined, events: NewEvent[]): Promise<void> {
  if (events.length === 0 && steps === undefined) return
  const params: unknown[] = [deploymentId]
  const rows = events.map((event) => {
    const at = params.length
    params.push(event.type, event.actor ?? null, event.actorIdentity == null ? null : JSON.stringify(event.actorIdentity), event.message ?? null,
      event.data == null ? null : JSON.stringify(event.data))
    return `($1, $${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5})`
  })
  const insert = rows.length === 0 ? undefined : `INSERT INTO deployment_events (deployment_id, type, actor, actor_identity, message, data) VALUES ${rows.join(', ')}`
  if (steps === undefined) {
    await db.query(insert as string, params)
    return
  }
  params.push(JSON.stringify(steps))
  const update = `UPDATE deployments SET steps = $${params.length}, updated_at = now() WHERE id = $1`
  await db.query(insert === undefined ? update : `WITH saved AS (${update}) ${insert}`, params)
}
