import type { Actor } from '../auth/identity.js'
import type { DeploymentRow, DeploymentStatus, Report, TerminalStatus } from '../domain/index.js'
import { SYSTEM_ACTOR } from '../domain/index.js'
import { transitionDeployment } from '../store/deployments.js'
import type { Queryable } from '../store/pool.js'
import type { FailureDetails } from './deployment-failure.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import { completedBanner, endedBanner, failedBanner } from './human-log.js'
import { errorReport } from './report.js'

/** How a deployment ends: its final status and what the report, audit trail and log say about it. */
export type Ending =
  | { status: 'succeeded', report: Report, summary: { migrationsApplied: number, durationMs: number, backupId: string | null, healthy: boolean } }
  | { status: 'failed', failure: FailureDetails }
  | { status: 'rejected', by: Actor, reason: string }
  | { status: 'cancelled', by: Actor }
  | { status: 'expired', approvalsReceived: number }

/** The deployment to end, in the transaction (or on the pool) `db` the recorder writes to. */
export interface EndingTarget {
  db: Queryable
  deployment: DeploymentRow
  recorder: DeploymentRecorder
}

interface Written {
  /**
   * The step the ending finishes: the running one, or the approval step (`ifRunning`: only while it
   * is the running step, as when a cancel ends the wait for approval).
   */
  closeStep?: { name: 'running' | 'approval', status: 'failed' | 'skipped', detail: string, ifRunning?: boolean }
  report: Report
  event: { type: string, actor: string | Actor, data: Record<string, unknown> }
  banner: string
}

/** What each kind of ending writes. */
function writtenFor (deployment: DeploymentRow, ending: Ending): Written {
  const { environment } = deployment
  const base = { operation: deployment.operation, environment, mode: deployment.mode }
  const change = { from: deployment.status, to: ending.status }
  switch (ending.status) {
    case 'succeeded':
      return {
        report: ending.report,
        event: { type: 'status_changed', actor: SYSTEM_ACTOR, data: change },
        banner: completedBanner({ environment, ...ending.summary })
      }
    case 'failed': {
      const { failure } = ending
      return {
        closeStep: { name: 'running', status: 'failed', detail: failure.error },
        report: errorReport({ ...base, ...failure, suggestions: failure.suggestions ?? [] }),
        event: { type: 'status_changed', actor: SYSTEM_ACTOR, data: { ...change, error: failure.error } },
        banner: failedBanner({ environment, error: failure.error, suggestions: failure.suggestions ?? [] })
      }
    }
    case 'rejected': {
      const because = `Rejected by ${ending.by.name}: ${ending.reason}`
      return {
        closeStep: { name: 'approval', status: 'failed', detail: `rejected by ${ending.by.name}: ${ending.reason}` },
        report: errorReport({ ...base, error: because, suggestions: ['Address the reason given, then create a new deployment'] }),
        event: { type: 'rejected', actor: ending.by, data: { ...change, reason: ending.reason, plan_checksum: deployment.plan?.checksum ?? null } },
        banner: endedBanner('rejected', environment, because)
      }
    }
    case 'cancelled':
      return {
        // The wait for approval ends here: a cancelled deployment must not show it still running.
        closeStep: { name: 'approval', status: 'skipped', detail: `cancelled by ${ending.by.name} before a decision`, ifRunning: true },
        report: errorReport({ ...base, error: `Cancelled by ${ending.by.name}`, suggestions: ['Nothing was applied; create a new deployment when ready'] }),
        event: { type: 'cancelled', actor: ending.by, data: change },
        banner: endedBanner('cancelled', environment, `Cancelled by ${ending.by.name}; nothing was applied`)
      }
    case 'expired': {
      const expiresAt = deployment.expires_at?.toISOString() ?? 'its expiry'
      const received = ending.approvalsReceived
      const required = deployment.approvals_required
      return {
        closeStep: { name: 'approval', status: 'failed', detail: `approval window expired at ${expiresAt}` },
        report: errorReport({
          ...base,
          error: `Approval expired at ${expiresAt}`,
          suggestions: ['Nothing was applied. Create a new deployment to request approval again']
        }),
        event: {
          type: 'status_changed',
          actor: SYSTEM_ACTOR,
          data: { ...change, expires_at: expiresAt, approvals_received: received, approvals_required: required }
        },
        banner: endedBanner('expired', environment, `Approval window closed at ${expiresAt} with ${received} of ${required} approvals; nothing was applied`)
      }
    }
  }
}

/**
 * Ends a deployment: the one place a deployment reaches a final status, whoever ends it (the
 * worker's phases, a stalled worker's reconciler, an approver, a cancel, the expiry). In order:
 * the step the ending belongs to is closed (failed for failures, rejections and expiries; a cancel
 * skips a running approval step); the row moves to its final status with its report, only if its
 * status is still one of `from` (whoever moves it first wins); the audit event that says so is appended, which the notification outbox's trigger turns
 * into the webhook delivery and the finished-deployment metrics; the final banner closes the human
 * log. Returns the final row, or undefined when the deployment had already moved on.
 */
export async function endDeployment (target: EndingTarget, from: readonly DeploymentStatus[], ending: Ending): Promise<DeploymentRow | undefined> {
  const { db, deployment, recorder } = target
  const written = writtenFor(deployment, ending)
  const close = written.closeStep
  if (close !== undefined) {
    const running = recorder.runningStep()
    const step = close.name === 'running' ? running : close.ifRunning !== true || running === close.name ? close.name : undefined
    if (step !== undefined) await recorder.finishStep(step, close.status, close.detail)
  }
  const status: TerminalStatus = ending.status
  const ended = await transitionDeployment(db, deployment.id, from, { status, report: written.report, steps: recorder.steps })
  if (ended === undefined) return undefined
  // The audit event and the closing banner in one write.
  await recorder.together(async () => {
    await recorder.event(written.event.type, written.event.data, written.event.actor)
    await recorder.log(written.banner, 'banner')
  })
  return ended
}
