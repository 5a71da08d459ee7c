import type pg from 'pg'
import type { Logger } from 'pino'
import type { Principal } from '../auth/principal.js'
import type { Config, EnvironmentConfig } from '../config/load.js'
import type { DeploymentRow } from '../domain/index.js'
import { ConflictError, NotFoundError, WindowClosedError } from '../errors/index.js'
import { checkWindow, type WindowVerdict } from '../lib/deployment-windows.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { enqueueWindowOpening } from '../queue/deployment-jobs.js'
import { takeApplyTicket } from '../store/apply-queue.js'
import { getDeployment, transitionDeployment } from '../store/deployments.js'
import { withTransaction } from '../store/pool.js'
import { DeploymentFailure } from './deployment-failure.js'
import { DeploymentRecorder } from './deployment-recorder.js'
import type { DeploymentRun } from './deployment-run.js'
import type { PipelineContext } from './pipeline-context.js'

/** Now, by the pipeline's clock (a test's fake one, or the real one). */
export function nowOf (ctx: Pick<PipelineContext, 'clock'>): number {
  return ctx.clock?.() ?? Date.now()
}

/** Whether the environment's windows let a deployment start now; always open without `windows`. */
export function windowVerdict (ctx: Pick<PipelineContext, 'clock'>, environment: Pick<EnvironmentConfig, 'windows'>): WindowVerdict {
  return environment.windows === undefined ? { open: true } : checkWindow(environment.windows, new Date(nowOf(ctx)))
}

/** `2026-12-07 09:00 Europe/Berlin`: what the log shows next to the ISO time. */
function localTime (at: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, dateStyle: 'short', timeStyle: 'short' }).format(at)
  return `${parts} ${timezone}`
}

/**
 * Before applying (SPEC §15): a deployment outside its environment's window, and not overridden,
 * waits as `waiting_for_window` with `next_window_at`, and a delayed job starts it when the window
 * opens. Dry runs never apply, so they never get here. Returns true when it now waits.
 */
export async function holdForWindow (run: DeploymentRun): Promise<boolean> {
  const { deployment, environment } = run
  if (deployment.dry_run || deployment.window_override !== null) return false
  const verdict = windowVerdict(run.ctx, environment)
  if (verdict.open) return false
  await waitForWindow(run, verdict.nextOpenAt, verdict.reason)
  return true
}

/** Parks a running deployment until `nextOpenAt` (its apply phase then starts again). */
export async function waitForWindow (run: DeploymentRun, nextOpenAt: Date | null, reason: string): Promise<void> {
  const { environment, recorder } = run
  const timezone = environment.windows?.timezone ?? 'UTC'
  if (nextOpenAt === null) {
    throw new DeploymentFailure({
      error: `No deployment window opens for ${environment.name}: ${reason}`,
      suggestions: [`Check environments.${environment.name}.windows (a deny window without end?), or ask an admin for POST /deployments/${run.deployment.id}/override-window`]
    })
  }
  const moved = await transitionDeployment(run.ctx.pool, run.deployment.id, ['running'], {
    status: 'waiting_for_window', phase: 'apply', next_window_at: nextOpenAt, steps: recorder.steps
  })
  if (moved === undefined) return
  run.deployment = moved
  await recorder.event('status_changed', { from: 'running', to: 'waiting_for_window', next_window_at: nextOpenAt.toISOString(), reason })
  await recorder.log(`⏳ Waiting for the deployment window: ${reason}; starts by itself at ${localTime(nextOpenAt, timezone)} (${nextOpenAt.toISOString()})`)
  await scheduleWindowOpening(run.ctx, run.deployment.id, nextOpenAt)
}

/**
 * Schedules the delayed job that starts a waiting deployment. If Redis refuses, the worker's
 * reconciler schedules it on its next pass (the row is the truth).
 */
export async function scheduleWindowOpening (ctx: Pick<PipelineContext, 'queue' | 'logger' | 'clock'>, deploymentId: string, at: Date): Promise<void> {
  try {
    await enqueueWindowOpening(ctx.queue, deploymentId, at.getTime() - nowOf(ctx))
  } catch (error) {
    ctx.logger.warn({ deployment_id: deploymentId, err: { message: safeErrorMessage(error) } }, 'could not schedule the window opening; the reconciler will')
  }
}

/**
 * With `windows.on_close: hold`, called before each migration: once the window has closed, the
 * apply stops there (`beforeStopping` lands the record of the one before) and the rest waits.
 */
export async function throwIfWindowClosed (run: DeploymentRun, beforeStopping: () => Promise<void>): Promise<void> {
  if (run.environment.windows?.on_close !== 'hold' || run.deployment.window_override !== null || run.deployment.dry_run) return
  const verdict = windowVerdict(run.ctx, run.environment)
  if (verdict.open) return
  await beforeStopping()
  throw new WindowClosedError(verdict.nextOpenAt, verdict.reason)
}

export type WindowJobOutcome = { outcome: 'started', deployment: DeploymentRow } | { outcome: 'not_due', dueAt: Date } | { outcome: 'not_waiting' }

/**
 * The window job: a waiting deployment whose window is open goes back in line for its apply
 * phase (the caller enqueues it). Early (clocks disagree, or the config moved the window): not due.
 */
export async function openDeploymentWindow (ctx: PipelineContext, id: string): Promise<WindowJobOutcome> {
  return await withTransaction(ctx.pool, async (db) => {
    const deployment = await getDeployment(db, id, { forUpdate: true })
    if (deployment?.status !== 'waiting_for_window') return { outcome: 'not_waiting' }
    const environment = ctx.config.environments[deployment.environment]
    const verdict = environment === undefined ? { open: true as const } : windowVerdict(ctx, environment)
    if (!verdict.open) {
      const dueAt = verdict.nextOpenAt ?? new Date(nowOf(ctx) + 3_600_000)
      await transitionDeployment(db, id, ['waiting_for_window'], { next_window_at: dueAt })
      return { outcome: 'not_due', dueAt }
    }
    const recorder = new DeploymentRecorder(db, deployment, ctx.logger.child({ deployment_id: id, phase: 'window' }))
    const queued = await release(db, recorder, deployment, null)
    await recorder.log('▶ The deployment window is open: starting')
    return { outcome: 'started', deployment: queued }
  })
}

/**
 * `POST /deployments/:id/override-window` (admin only, checked by the route): starts a waiting
 * deployment now, outside its window. The reason is required; the override is kept on the
 * deployment (so no later window check holds it again), audited, and sent as `window.overridden`.
 */
export async function overrideWindow (pool: pg.Pool, config: Config, logger: Logger, principal: Principal, id: string, reason: string): Promise<DeploymentRow> {
  return await withTransaction(pool, async (db) => {
    const deployment = await getDeployment(db, id, { forUpdate: true })
    if (deployment === undefined || config.environments[deployment.environment] === undefined) throw new NotFoundError(`deployment ${id} not found`)
    if (deployment.status !== 'waiting_for_window') {
      throw new ConflictError(`deployment ${id} is ${deployment.status}, not waiting_for_window: there is no window to override`, { status: deployment.status }, 'NOT_WAITING_FOR_WINDOW')
    }
    const recorder = new DeploymentRecorder(db, deployment, logger.child({ deployment_id: id }))
    const override = { by: principal.name, at: new Date().toISOString(), reason }
    await recorder.event('window_overridden', { reason, next_window_at: deployment.next_window_at?.toISOString() ?? null }, principal.name)
    const queued = await release(db, recorder, deployment, override, principal.name)
    await recorder.log(`⚠ Deployment window overridden by ${principal.name}: ${reason}`)
    return queued
  })
}

/** waiting_for_window → queued for the apply phase, at the back of the environment's line. */
async function release (
  db: pg.PoolClient, recorder: DeploymentRecorder, deployment: DeploymentRow, override: DeploymentRow['window_override'], actor?: string
): Promise<DeploymentRow> {
  const queued = await transitionDeployment(db, deployment.id, ['waiting_for_window'], {
    status: 'queued', phase: 'apply', next_window_at: null, ...(override === null ? {} : { window_override: override })
  })
  if (queued === undefined) throw new ConflictError(`deployment ${deployment.id} stopped waiting for its window meanwhile`, undefined, 'NOT_WAITING_FOR_WINDOW')
  await takeApplyTicket(db, deployment.id, deployment.environment)
  await recorder.event('status_changed', { from: 'waiting_for_window', to: 'queued', phase: 'apply', override: override !== null }, actor)
  return queued
}
