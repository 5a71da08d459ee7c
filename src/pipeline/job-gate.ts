import type { EnvironmentConfig } from '../config/load.js'
import type { PipelineContext } from './pipeline-context.js'
import { applyQueueHead, countAhead, getTurnWithHead, type DeploymentTurn, type DeploymentTurnState } from '../store/apply-queue.js'
import { LOCK_NAMESPACES, tryAdvisoryLock } from '../store/control-locks.js'
import type { Phase } from '../domain/index.js'
import { appendEvent, hasPhaseEvent } from '../store/events.js'
import type { Queryable } from '../store/pool.js'
import { withTimeout } from '../lib/with-timeout.js'
import { requiresApproval } from './approval-gate.js'
import { deploymentJobId } from '../queue/deployment-jobs.js'

/** How long a job waits before trying again when it may not run yet. */
export const GATE_RETRY_MS = {
  /** Another worker holds this deployment (a duplicate job after a Redis flush, or a stalled worker still alive). */
  leaseBusy: 1000,
  /**
   * Per deployment ahead in line, capped: the one finishing promotes the next, so this is only
   * the fallback, and those far back look less often.
   */
  perDeploymentAhead: 1000,
  notYourTurnMax: 15_000,
  /** First in line, but the previous holder's session is still closing. */
  guardBusy: 200
} as const

export type JobGate =
  | { kind: 'run', environment: string | undefined, holdsTurn: boolean, resumed: boolean, close: () => Promise<void> }
  | { kind: 'wait', retryInMs: number, reason: string }

/** Whether plan phases in this environment go straight on to apply (no approval gate). */
export function planPhaseApplies (environment: EnvironmentConfig | undefined): boolean {
  return environment !== undefined && !requiresApproval(environment)
}

function appliesInPhase (environment: EnvironmentConfig | undefined, row: DeploymentTurnState): boolean {
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
  // A cheap look first, on the pool: jobs that are not first in line leave without a session.
  const planAppliesIn = environmentsWherePlansApply(ctx)
  const peek = await getTurnWithHead(ctx.pool, deploymentId, planAppliesIn)
  const waiting = peek === undefined ? undefined : await notFirstInLine(ctx, peek, phase)
  if (waiting !== undefined) return waiting

  // Named with the worker's pid, so operators (pg_stat_activity) see which worker process runs what.
  const session = await ctx.sessions.acquire()
  // Releasing the session releases its locks (parked after pg_advisory_unlock_all, or closed).
  const close = async (): Promise<void> => { await ctx.sessions.release(session) }
  try {
    if (!await tryAdvisoryLock(session, LOCK_NAMESPACES.deploymentLease, deploymentId)) {
      await close()
      return { kind: 'wait', retryInMs: GATE_RETRY_MS.leaseBusy, reason: 'another worker is running this deployment' }
    }
    const row = await getTurnWithHead(session, deploymentId, planAppliesIn)
    if (row === undefined || !runnable(row, phase)) {
      // Nothing to run: the phase will say so and return.
      return { kind: 'run', environment: row?.environment, holdsTurn: false, resumed: false, close }
    }
    const resumed = row.status === 'running'
    if (!appliesInPhase(ctx.config.environments[row.environment], row)) return { kind: 'run', environment: row.environment, holdsTurn: false, resumed, close }
    // The line as read under the lease: it may have moved since the peek.
    const stillWaiting = await notFirstInLine(ctx, row, phase)
    if (stillWaiting !== undefined) {
      await close()
      return stillWaiting
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

function runnable (row: DeploymentTurnState, phase: Phase): boolean {
  return (row.status === 'queued' || row.status === 'running') && row.phase === phase
}

/** The environments whose plan phase applies: the line's rule for `plan`-phase deployments (see applyQueueHead). */
function environmentsWherePlansApply (ctx: PipelineContext): string[] {
  return Object.entries(ctx.config.environments).filter(([, environment]) => planPhaseApplies(environment)).map(([name]) => name)
}

/** A wait when this deployment's phase applies and another deployment is first in its environment's line (`row.head_id`, read with the row). */
async function notFirstInLine (ctx: PipelineContext, row: DeploymentTurn, phase: Phase): Promise<JobGate | undefined> {
  const environment = ctx.config.environments[row.environment]
  if (!runnable(row, phase) || !appliesInPhase(environment, row)) return undefined
  if (row.head_id === null || row.head_id === row.id) return undefined
  const ahead = Math.max(1, await countAhead(ctx.pool, row.environment, planPhaseApplies(environment), row.apply_ticket))
  await noteWaiting(ctx.pool, row, ahead, row.head_id)
  return { kind: 'wait', retryInMs: Math.min(GATE_RETRY_MS.perDeploymentAhead * ahead, GATE_RETRY_MS.notYourTurnMax), reason: `${ahead} ahead in ${row.environment}, ${row.head_id} first` }
}

/** One line in the deployment's log the first time it waits for its turn in a phase. */
async function noteWaiting (db: Queryable, row: DeploymentTurnState, ahead: number, headId: string): Promise<void> {
  if (await hasPhaseEvent(db, row.id, 'waiting_for_turn', row.phase)) return
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
