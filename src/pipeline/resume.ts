import { createHash } from 'node:crypto'
import type { HistoryEntry, MigrationFile, MigrationIdentity, MigrationStatus } from '../handlers/types.js'
import { PlanStaleError } from '../errors/pipeline-errors.js'
import type { DeploymentRow, Plan } from '../domain/index.js'
import { planChecksum } from './build-plan.js'

/**
 * The history-row id a deployment gives a migration: a UUID in the v4 layout (as Prisma writes
 * them) derived from the deployment id and the migration name. A resumed apply recognises the
 * rows it wrote before it was interrupted by this id alone, including one committed on the
 * target just before the worker died and never recorded in the control database.
 */
export function historyIdFor (deploymentId: string, migrationName: string): string {
  const bytes = createHash('sha256').update(`migration-deployer\0${deploymentId}\0${migrationName}`).digest().subarray(0, 16)
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** A migration this deployment applied in an earlier, interrupted attempt. */
export interface EarlierApplied extends MigrationIdentity {
  durationMs: number
}

/** The target's applied rows written by this deployment (by their derived ids), in history order. */
export function appliedEarlierBy (deploymentId: string, applied: HistoryEntry[]): EarlierApplied[] {
  return applied
    .filter((entry) => entry.id !== undefined && entry.finishedAt !== null && entry.id === historyIdFor(deploymentId, entry.name))
    .map((entry) => ({
      name: entry.name,
      checksum: entry.checksum,
      durationMs: Math.max(0, (entry.finishedAt as Date).getTime() - (entry.startedAt ?? (entry.finishedAt as Date)).getTime())
    }))
}

/** Whether an earlier attempt of this deployment began applying (its deploy step started). */
export function applyBegan (deployment: Pick<DeploymentRow, 'steps'>): boolean {
  return deployment.steps.some((step) => step.name === 'deploy' && step.started_at !== null)
}

/**
 * What is left of an approved (frozen) plan. The target may differ from the approved state only
 * by a prefix of the plan applied by THIS deployment (recognised by its history-row ids, with the
 * approved checksums) before an interruption; the pending set must then be exactly the rest of
 * the plan, in order. Anything else — a migration applied by someone else, a changed file, a
 * failed row — means the plan is stale.
 */
export function remainingOfApprovedPlan (deployment: Pick<DeploymentRow, 'id' | 'environment'> & { plan: Plan }, current: MigrationStatus<MigrationIdentity>): { done: EarlierApplied[], remaining: MigrationFile[] } {
  const planned = deployment.plan.migrations
  const ours = new Map(appliedEarlierBy(deployment.id, current.applied).map((entry) => [entry.name, entry]))
  const done: EarlierApplied[] = []
  for (const migration of planned) {
    const entry = ours.get(migration.name)
    if (entry === undefined || entry.checksum !== migration.checksum) break
    done.push(entry)
  }
  const remaining = planned.slice(done.length)
  const expected = planChecksum(deployment.environment, remaining)
  const nowChecksum = planChecksum(deployment.environment, current.pending)
  if (expected !== nowChecksum || current.failed.length > 0) {
    const pendingNow = current.pending.map((m) => m.name)
    const progress = done.length > 0 ? `; ${done.length} of its migrations were applied by this deployment before it was interrupted and nothing more was applied` : '; nothing was applied'
    throw new PlanStaleError(
      `plan is stale: the target changed since the plan was approved (planned ${planned.length} pending, now ${pendingNow.length}${current.failed.length > 0 ? `, failed: ${current.failed.map((f) => f.name).join(', ')}` : ''})${progress}`,
      {
        planned: planned.map((m) => m.name),
        pending_now: pendingNow,
        applied_by_this_deployment: done.map((m) => m.name),
        approved_checksum: deployment.plan.checksum,
        current_checksum: nowChecksum
      }
    )
  }
  return { done, remaining: remaining.map((m) => ({ name: m.name, sql: m.sql, checksum: m.checksum })) }
}
