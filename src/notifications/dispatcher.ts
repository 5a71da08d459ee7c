import type { JobsOptions } from 'bullmq'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import type { DeploymentWebhookEvent, EnvironmentWebhookEvent, WebhookEvent } from '../config/schema.js'
import { approvalWait, deploymentsFinished, fleetTargetsFinished, migrationDuration, pipelineDuration } from '../metrics/process-metrics.js'
import {
  markNotificationsDispatched, takeUndispatchedEnvironmentNotifications, takeUndispatchedNotifications, type EnvironmentNotificationRow, type NotificationRow
} from '../store/notifications.js'
import { buildEnvironmentWebhookPayload } from './environment-payload.js'
import { withTransaction } from '../store/pool.js'
import { buildWebhookPayload } from './webhook-payload.js'
import { webhookSubscribes } from './webhook-subscription.js'
import type { WebhookJobData, WebhookQueue } from './webhook-queue.js'

export interface DispatchContext {
  pool: pg.Pool
  config: Config
  queue: WebhookQueue
  logger: Logger
}

/** An outbox row; the trigger only writes the kinds webhooks know. */
type Notification = NotificationRow & { kind: DeploymentWebhookEvent }
/** An environment's outbox row (the drift watch's moments). */
type EnvironmentNotification = EnvironmentNotificationRow & { kind: EnvironmentWebhookEvent }

/** Outbox rows taken per transaction, of each kind (a deployment's moments, an environment's). */
export const DISPATCH_BATCH_SIZE = 50

const seconds = (from: Date | string, to: Date | string): number => (new Date(to).getTime() - new Date(from).getTime()) / 1000

/**
 * Takes undispatched rows of the notification outbox, a deployment's moments and an environment's
 * (SKIP LOCKED: many workers share the work, each row goes to one), queues one webhook delivery per subscribed webhook with a deterministic
 * job id, marks the rows dispatched, and then records the deployments' metrics. Returns the
 * number of rows handled; a Redis failure rolls the batch back for the next sweep.
 */
export async function dispatchNotifications (ctx: DispatchContext, batchSize = DISPATCH_BATCH_SIZE): Promise<number> {
  const observations: Array<() => void> = []
  const count = await withTransaction(ctx.pool, async (db) => {
    const rows = await takeUndispatchedNotifications(db, batchSize) as Notification[]
    const environmentRows = await takeUndispatchedEnvironmentNotifications(db, batchSize) as EnvironmentNotification[]
    if (rows.length === 0 && environmentRows.length === 0) return 0
    const jobs: Array<{ name: WebhookEvent, data: WebhookJobData, opts: JobsOptions }> = []
    const delivery = (deliveryId: string): JobsOptions => ({
      jobId: `delivery.${deliveryId}`,
      attempts: ctx.config.notifications.retry.attempts,
      backoff: { type: 'exponential', delay: ctx.config.notifications.retry.initial_delay }
    })
    for (const row of rows) {
      ctx.config.notifications.webhooks.forEach((webhook, index) => {
        if (!webhookSubscribes(webhook, row)) return
        const deliveryId = `${row.event_id}.${index}`
        const body = JSON.stringify(buildWebhookPayload({ event: row.kind, deliveryId, occurredAt: row.occurred_at, deployment: row, config: ctx.config }))
        jobs.push({
          name: row.kind,
          data: { deliveryId, deploymentId: row.id, event: row.kind, webhook: index, body },
          opts: delivery(deliveryId)
        })
      })
      observations.push(...metricsOf(row))
    }
    for (const row of environmentRows) {
      ctx.config.notifications.webhooks.forEach((webhook, index) => {
        if (!webhookSubscribes(webhook, { kind: row.kind, environment: row.environment, dry_run: false })) return
        const deliveryId = `${row.event_id}.${index}`
        const body = JSON.stringify(buildEnvironmentWebhookPayload({ event: row.kind, deliveryId, row, config: ctx.config }))
        const data = { deliveryId, deploymentId: null, environment: row.environment, event: row.kind, webhook: index, body }
        jobs.push({ name: row.kind, data, opts: delivery(deliveryId) })
      })
    }
    if (jobs.length > 0) await ctx.queue.addBulk(jobs)
    await markNotificationsDispatched(db, [...rows, ...environmentRows].map((row) => row.event_id))
    return rows.length + environmentRows.length
  })
  // After the commit, so a rolled-back batch is not counted twice.
  for (const observe of observations) observe()
  return count
}

function metricsOf (row: Notification): Array<() => void> {
  // Only final statuses count as finished deployments.
  if (row.kind === 'pending_approval' || row.kind === 'waiting_for_window' || row.kind === 'window.overridden') return []
  const environment = row.environment
  const observations: Array<() => void> = [() => deploymentsFinished.inc({ environment, status: row.kind })]
  const approval = row.steps.find((step) => step.name === 'approval')
  let waited = 0
  if (approval?.started_at != null && (approval.status !== 'skipped')) {
    waited = Math.max(0, seconds(approval.started_at, approval.finished_at ?? row.finished_at ?? new Date()))
    observations.push(() => approvalWait.observe({ environment }, waited))
  }
  if ((row.kind === 'succeeded' || row.kind === 'failed') && row.started_at !== null && row.finished_at !== null) {
    const ran = Math.max(0, seconds(row.started_at, row.finished_at) - waited)
    observations.push(() => pipelineDuration.observe({ environment, status: row.kind }, ran))
    for (const durationMs of row.applied_durations_ms) {
      observations.push(() => migrationDuration.observe({ environment }, durationMs / 1000))
    }
  }
  // A fleet's targets by how they ended (its migrations are counted above, one per target applied to).
  for (const status of ['succeeded', 'failed', 'skipped'] as const) {
    const count = row.fleet_target_counts[status] ?? 0
    if (count > 0) observations.push(() => fleetTargetsFinished.inc({ environment, status }, count))
  }
  return observations
}
