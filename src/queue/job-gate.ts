import type pg from 'pg'
import type { EnvironmentConfig } from '../config/load.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { applyQueueHead, countAhead } from '../store/apply-queue.js'
import { LOCK_NAMESPACES, openControlSession, tryAdvisoryLock } from '../store/control-locks.js'
import { getDeployment, type DeploymentRow, type Phase } from '../store/deployments.js'
import { appendEvent } from '../store/events.js'
import { withTimeout } from '../lib/with-timeout.js'
import { deploymentJobId } from './deployment-jobs.js'

/** How long a job waits before trying again when it may not run yet. */
export const GATE_RETRY_MS = {
  /** Another worker holds this deployment (a duplicate job after a Redis flush, or a stalled worker still alive). */
  leaseBusy: 1000,
  /** Other deployments of the environment are ahead in line; the one finishing promotes the next. */
  notYourTurn: 2000,
  /** First in line, but the previous holder's session is still closing. */
  guardBusy: 200
} as const

export type JobGate =
  | { kind: 'run', environment: string | undefined, holdsTurn: boolean, resumed: boolean, close: () => Promise<void> }
  | { kind: 'wait', retryInMs: number, reason: string }

/** Whether plan phases in this environment go straight on to apply (no approval gate). */
export function planPhaseApplies (environment: EnvironmentConfig | undefined): boolean {
  return environment !== undefined && !(environment.protected && environment.mode === 'deploy')
}

function appliesInPhase (environment: EnvironmentConfig | undefined, row: DeploymentRow): boolean {
  if (row.dry_run || environment === undefined) return false
  return row.phase === 'apply' || planPhaseApplies(environment)
}

/**
 * Decides whether a job may run now, on a dedicated control-database session whose locks
 * die with the worker:
 * - the deployment lease: one runner per deployment, whatever copies of its job exist;
 * - for a phase that applies, the environment's turn: only the first in line (lowest
 *   ticket) runs, under the environment guard, so applies to one environment never overlap
 *   across workers and happen in order of request (unprotected) or approval (approved plans).
 * Jobs that must wait are delayed by the caller instead of holding a worker slot, so other
 * environments keep running in parallel.
 */
export async function enterDeploymentJob (ctx: PipelineContext, deploymentId: string, phase: Phase): Promise<JobGate> {
  const session = await openControlSession(ctx.pool, 'migration-deployer job')
  const close = async (): Promise<void> => { await session.end().catch(() => {}) }
  try {
    if (!await tryAdvisoryLock(session, LOCK_NAMESPACES.deploymentLease, deploymentId)) {
      await close()
      return { kind: 'wait', retryInMs: GATE_RETRY_MS.leaseBusy, reason: 'another worker is running this deployment' }
    }
    const row = await getDeployment(session, deploymentId)
    if (row === undefined || (row.status !== 'queued' && row.status !== 'running') || row.phase !== phase) {
      // Nothing to run: the phase will say so and return.
      return { kind: 'run', environment: row?.environment, holdsTurn: false, resumed: false, close }
    }
    const resumed = row.status === 'running'
    const environment = ctx.config.environments[row.environment]
    if (!appliesInPhase(environment, row)) return { kind: 'run', environment: row.environment, holdsTurn: false, resumed, close }

    const planApplies = planPhaseApplies(environment)
    const head = await applyQueueHead(session, row.environment, planApplies)
    if (head !== undefined && head.id !== row.id) {
      await noteWaiting(session, row, planApplies, head.id)
      await close()
      return { kind: 'wait', retryInMs: GATE_RETRY_MS.notYourTurn, reason: `${head.id} is ahead in ${row.environment}` }
    }
    if (!await tryAdvisoryLock(session, LOCK_NAMESPACES.environmentGuard, row.environment)) {
      await close()
      return { kind: 'wait', retryInMs: GATE_RETRY_MS.guardBusy, reason: `${row.environment} is still held by the previous deployment` }
    }
    return { kind: 'run', environment: row.environment, holdsTurn: true, resumed, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** One line in the deployment's log the first time it waits for its turn in a phase. */
async function noteWaiting (db: pg.Client, row: DeploymentRow & { apply_ticket?: number }, planApplies: boolean, headId: string): Promise<void> {
  const { rowCount } = await db.query(`SELECT 1 FROM deployment_events WHERE deployment_id = $1 AND type = 'waiting_for_turn' AND data->>'phase' = $2 LIMIT 1`, [row.id, row.phase])
  if ((rowCount ?? 0) > 0) return
  const ahead = row.apply_ticket === undefined ? 1 : await countAhead(db, row.environment, planApplies, row.apply_ticket)
  await appendEvent(db, {
    deploymentId: row.id,
    type: 'waiting_for_turn',
    message: `⏳ Waiting for its turn: ${ahead} deployment${ahead === 1 ? '' : 's'} to ${row.environment} ahead (${headId} first); one applies at a time`,
    data: { phase: row.phase, ahead, first: headId }
  })
}

/**
 * Wakes the job of whoever is now first in the environment's line (it may be waiting out its
 * delay), so turns pass without waiting for the retry. Best effort: the retry comes anyway.
 */
export async function promoteNextInLine (ctx: PipelineContext, environment: string): Promise<void> {
  const head = await applyQueueHead(ctx.pool, environment, planPhaseApplies(ctx.config.environments[environment]))
  if (head === undefined) return
  const job = await withTimeout(ctx.queue.getJob(deploymentJobId(head.id, head.phase)), 2000, 'Redis')
  if (job !== undefined && await withTimeout(job.isDelayed(), 2000, 'Redis')) await withTimeout(job.promote(), 2000, 'Redis').catch(() => {})
}
