import type { Plan, PlanGroup, PlannedMigration } from '../../domain/index.js'
import { handlerFor } from '../../handlers/index.js'
import type { MigrationFile, MigrationHandler, MigrationStatus } from '../../handlers/types.js'
import { sha256Hex } from '../../lib/checksum.js'
import { safeErrorMessage } from '../../lib/mask-secrets.js'
import { measuredDurations } from '../../store/applied-migrations.js'
import { fleetRetryOf, insertFleetTargets, type PlannedTarget } from '../../store/fleet-targets.js'
import { analyzePlan } from '../analyze-plan.js'
import { buildPlan } from '../build-plan.js'
import type { DeploymentRun } from '../deployment-run.js'
import { loadMigrationSource, projectDirectoryOf } from '../migration-source.js'
import type { PlanOutcome } from '../operation.js'
import { errorReport, noPendingReport } from '../report.js'
import { runPreamble } from '../steps/preamble.js'
import { checkPromotionGate, enforcePromotionGate } from '../steps/promotion-gate.js'
import { fleetEnding } from './fleet-report.js'
import { forEachLimited, resolveFleetTargets } from './resolve-targets.js'

/** What planning read from one target: its history state, or why it could not be read. */
type TargetState = { name: string, status: MigrationStatus<MigrationFile> } | { name: string, error: string }

/**
 * The plan of a fleet deployment (SPEC §14): read every target's history (at most `concurrency`
 * at once), group the targets by history state (applied names and checksums), plan and analyse
 * each group once, and record every target in one statement. A target that cannot be read, or
 * whose history has drift or a failed migration, is failed now; a group with nothing pending is
 * done now. One approval then covers every group.
 */
export async function planFleet (run: DeploymentRun): Promise<PlanOutcome> {
  const { ctx, deployment, environment, recorder } = run
  const { handler, source } = await runPreamble(run, async () => {
    const handler = handlerFor(environment, await projectDirectoryOf(deployment, environment, ctx.config))
    const files = await loadMigrationSource(deployment, environment, ctx.config, handler)
    return { value: { handler, source: files }, detail: `tool ${environment.migration_tool}, ${files.length} migrations in the source, fleet` }
  })
  // A plan job picked up again after a crash keeps the plan (and target rows) it saved.
  if (deployment.plan?.groups !== undefined) return await afterPlanning(run, deployment.plan)

  await recorder.startStep('check_pending')
  let targets = await resolveFleetTargets(environment, ctx.env)
  const retry = await fleetRetryOf(ctx.pool, deployment.id)
  if (retry !== undefined) targets = targets.filter((t) => retry.targets.includes(t.name))
  const states = await readStates(handler, source, targets.map((t) => ({ name: t.name, url: t.url })), environment.rollout.concurrency)

  const { groups, planned } = await groupTargets(run, states)
  const migrations = distinctMigrations(groups)
  const grouped: Plan = {
    checksum: `sha256:${sha256Hex(JSON.stringify({ environment: environment.name, groups: groups.map((g) => [g.checksum, g.targets]) }))}`,
    pending_migrations: migrations.length,
    migrations,
    groups
  }
  // The gate's result goes into the plan, as for one database: reviewers read it beside the SQL.
  const gate = await checkPromotionGate(ctx.pool, environment, grouped)
  const plan = gate === undefined ? grouped : { ...grouped, promotion_gate: gate }
  await insertFleetTargets(ctx.pool, deployment.id, planned)
  await run.save({ plan, source_snapshot: source.map((file) => ({ name: file.name, checksum: file.checksum })) })
  const failedNow = planned.filter((t) => t.status === 'failed').length
  await recorder.log(
    `✓ Targets: ${targets.length} in ${groups.length} history state${groups.length === 1 ? '' : 's'}` +
    `${failedNow > 0 ? `, ${failedNow} failed to plan` : ''}; ${plan.pending_migrations} distinct migrations pending`,
    'fleet_planned',
    { targets: targets.length, groups: groups.map((g) => ({ target_count: g.target_count, pending_migrations: g.pending_migrations })), failed: failedNow }
  )
  await enforcePromotionGate(run, plan, gate)
  await recorder.finishStep('check_pending', 'passed', `${targets.length} targets, ${groups.length} groups, ${plan.pending_migrations} migrations pending`)
  return await afterPlanning(run, plan)
}

/** Ends a dry run or a fleet with nothing to apply; otherwise hands the plan on to the gate. */
async function afterPlanning (run: DeploymentRun, plan: Plan): Promise<PlanOutcome> {
  const toApply = (plan.groups ?? []).filter((g) => g.pending_migrations > 0).reduce((n, g) => n + g.target_count, 0)
  if (run.deployment.dry_run) {
    await run.recorder.finishStep('preview', 'passed', 'dry run: nothing applied')
    return { ending: await fleetEnding(run, { preview: true }) }
  }
  if (toApply === 0) return { ending: await fleetEnding(run, { preview: false }) }
  return { planned: { plan } }
}

async function readStates (
  handler: MigrationHandler, source: MigrationFile[], targets: Array<{ name: string, url: string }>, concurrency: number
): Promise<TargetState[]> {
  const states: TargetState[] = new Array(targets.length)
  await forEachLimited(targets, concurrency, async (target, index) => {
    try {
      states[index] = { name: target.name, status: await handler.status(target.url, source) }
    } catch (error) {
      states[index] = { name: target.name, error: `cannot read the migration history: ${safeErrorMessage(error)}` }
    }
  })
  return states
}

/** Why a target's history stops it from being planned, if it does. */
function blocked (status: MigrationStatus<MigrationFile>): string | undefined {
  if (status.failed.length > 0) return `Migration ${status.failed.map((f) => f.name).join(', ')} failed in an earlier deployment and is not resolved`
  if (status.drifted.length > 0) return `Drift detected: ${status.drifted.map((d) => `${d.name} (${d.reason})`).join(', ')}`
  return undefined
}

async function groupTargets (run: DeploymentRun, states: TargetState[]): Promise<{ groups: PlanGroup[], planned: PlannedTarget[] }> {
  const { environment, deployment } = run
  const byKey = new Map<string, { status: MigrationStatus<MigrationFile>, names: string[] }>()
  const planned: PlannedTarget[] = []
  const keyOf = new Map<string, string>()
  for (const state of states) {
    const problem = 'error' in state ? state.error : blocked(state.status)
    if (problem !== undefined || 'error' in state) {
      planned.push({ name: state.name, group_index: null, status: 'failed', error: problem ?? null, report: targetFailure(run, state.name, problem ?? '') })
      continue
    }
    const key = sha256Hex(JSON.stringify(state.status.applied.map((a) => [a.name, a.checksum])))
    const group = byKey.get(key) ?? { status: state.status, names: [] }
    group.names.push(state.name)
    byKey.set(key, group)
    keyOf.set(state.name, key)
    planned.push({ name: state.name, group_index: null, status: 'pending' })
  }
  const pendingChecksums = [...new Set([...byKey.values()].flatMap((g) => g.status.pending.map((m) => m.checksum)))]
  const measured = await measuredDurations(run.ctx.pool, pendingChecksums, environment.name)
  const groups: PlanGroup[] = []
  const indexOf = new Map<string, number>()
  for (const [key, group] of byKey) {
    const plan = await analyzePlan(buildPlan(environment.name, group.status.pending, measured), group.status.pending, environment, run.logger)
    indexOf.set(key, groups.length)
    groups.push({
      targets: group.names,
      target_count: group.names.length,
      applied_migrations: group.status.applied.length,
      checksum: plan.checksum,
      pending_migrations: plan.pending_migrations,
      migrations: plan.migrations
    })
  }
  for (const target of planned) {
    if (target.status !== 'pending') continue
    const index = indexOf.get(keyOf.get(target.name) as string) as number
    target.group_index = index
    if ((groups[index] as PlanGroup).pending_migrations === 0) {
      target.status = 'succeeded'
      target.report = { ...noPendingReport(deployment.operation, environment.name, environment.mode), target: target.name }
    }
  }
  return { groups, planned }
}

function targetFailure (run: DeploymentRun, name: string, error: string): Record<string, unknown> {
  const { environment, deployment } = run
  const suggestions = ['Repair the target (reachable, no drift, no failed migration), then POST /deployments/:id/retry']
  return { ...errorReport({ operation: deployment.operation, environment: environment.name, mode: environment.mode, error, suggestions }), target: name }
}

/** Every group's migrations, each once, in name order (the order migration tools apply them). */
function distinctMigrations (groups: PlanGroup[]): PlannedMigration[] {
  const byName = new Map<string, PlannedMigration>()
  for (const group of groups) for (const m of group.migrations) if (!byName.has(m.name)) byName.set(m.name, m)
  return [...byName.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}
