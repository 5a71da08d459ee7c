import { handlerFor } from '../../handlers/index.js'
import { SYSTEM_ACTOR } from '../../domain/index.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import { finishFleetTarget, listAllFleetTargets, markFleetTargetRunning, skipPendingFleetTargets, type FleetSummary } from '../../store/fleet-targets.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRun } from '../deployment-run.js'
import type { Ending } from '../end-deployment.js'
import { formatSeconds } from '../human-log.js'
import { projectDirectoryOf } from '../migration-source.js'
import { fleetEnding, progressLine } from './fleet-report.js'
import { forEachLimited, resolveFleetTargets, type FleetTarget } from './resolve-targets.js'
import { failureLimit, rolloutOrder } from './rollout-order.js'
import { runFleetTarget } from './run-target.js'

/**
 * The apply of a fleet deployment (SPEC §14): the canary first, alone, and the rest only if it
 * succeeded; then batches, at most `concurrency` targets at once, each through the whole
 * single-database pipeline (runFleetTarget) on its own connection and migration lock. Once the
 * failures reach `max_failures` nothing more starts and the rest are skipped. Every target's end
 * is one statement (its row and its log line with the live counts); a job picked up again after a
 * crash keeps the targets that ended and reruns those that were running, whose own history rows
 * (ids derived from the deployment) tell what they applied: nothing is applied twice.
 */
export async function applyFleet (run: DeploymentRun): Promise<Ending> {
  const { ctx, deployment, environment, recorder } = run
  const groups = deployment.plan?.groups
  if (groups === undefined) throw new DeploymentFailure({ error: `Deployment ${deployment.id} has no fleet plan; create a new deployment` })
  const handler = handlerFor(environment, await projectDirectoryOf(deployment, environment, ctx.config))
  const urls = new Map((await resolveFleetTargets(environment, ctx.env)).map((t) => [t.name, t]))
  const rows = await listAllFleetTargets(ctx.pool, deployment.id)
  const counts: FleetSummary = { total: rows.length, succeeded: 0, failed: 0, skipped: 0, running: 0, pending: 0 }
  for (const row of rows) counts[row.status === 'running' ? 'pending' : row.status]++
  const groupOf = new Map(rows.map((row) => [row.name, row.group_index]))
  const open = rows.filter((row) => row.status === 'pending' || row.status === 'running').map((row) => row.name)
  const { rollout } = environment
  const limit = failureLimit(rollout, rows.length)
  const { canary, batches } = rolloutOrder(rollout, open, rows.length)
  let stopReason: string | undefined = counts.failed >= limit ? `${counts.failed} targets failed (max_failures ${String(rollout.max_failures)})` : undefined

  await recorder.startStep('deploy', `${open.length} of ${rows.length} targets to apply: canary ${canary.length}, ${batches.length} batches, concurrency ${rollout.concurrency}`)
  const runOne = async (name: string): Promise<void> => {
    const index = groupOf.get(name)
    const group = index === null || index === undefined ? undefined : groups[index]
    const target: FleetTarget | undefined = urls.get(name)
    counts.pending--
    counts.running++
    await markFleetTargetRunning(ctx.pool, deployment.id, name)
    const outcome = group === undefined || target === undefined
      ? { status: 'failed' as const, migrationsApplied: 0, error: `target ${name} is no longer among the environment's targets`, report: { status: 'error', target: name } }
      : await runFleetTarget(run, handler, group, target)
    counts.running--
    counts[outcome.status]++
    if (outcome.status === 'failed' && counts.failed >= limit) stopReason ??= `${counts.failed} target${counts.failed === 1 ? '' : 's'} failed (max_failures ${String(rollout.max_failures)})`
    const mark = outcome.status === 'succeeded' ? '✓' : outcome.status === 'skipped' ? '⏭' : '✗'
    const what = outcome.status === 'succeeded' ? `${outcome.migrationsApplied} applied` : `${outcome.status}: ${outcome.error ?? ''}`
    await finishFleetTarget(ctx.pool, deployment.id, name, outcome, {
      deploymentId: deployment.id,
      type: 'fleet_target_finished',
      actor: SYSTEM_ACTOR,
      message: maskSecrets(`${mark} Target ${name}: ${what} [${progressLine(counts)}]`),
      data: { target: name, status: outcome.status, migrations_applied: outcome.migrationsApplied, summary: { ...counts } }
    })
  }

  const started = performance.now()
  if (canary.length > 0 && stopReason === undefined) {
    await recorder.log(`▶ Canary: ${canary.join(', ')}`, 'fleet_canary', { targets: canary })
    const failedBefore = counts.failed
    await forEachLimited(canary, rollout.concurrency, runOne, () => stopReason !== undefined)
    // The canary's failure is the reason the rest is skipped, whatever max_failures says.
    if (counts.failed > failedBefore) stopReason = `the canary failed (${canary.join(', ')})`
  }
  for (const [i, batch] of batches.entries()) {
    if (stopReason !== undefined) break
    await recorder.log(`▶ Batch ${i + 1} of ${batches.length}: ${batch.length} targets`, 'fleet_batch', { batch: i + 1, targets: batch.length })
    await forEachLimited(batch, rollout.concurrency, runOne, () => stopReason !== undefined)
  }
  if (stopReason !== undefined) {
    const skipped = await skipPendingFleetTargets(ctx.pool, deployment.id, `skipped: ${stopReason}`)
    counts.skipped += skipped
    counts.pending -= skipped
    await recorder.log(`⏹ Rollout stopped: ${stopReason}; ${skipped} targets skipped`, 'fleet_stopped', { reason: stopReason, skipped, summary: { ...counts } })
  }
  const done = `${progressLine(counts)} in ${formatSeconds(performance.now() - started)}`
  await recorder.finishStep('deploy', counts.succeeded === counts.total ? 'passed' : 'failed', done)
  await recorder.log(`${counts.succeeded === counts.total ? '✓' : '✗'} Fleet: ${done}`, 'fleet_progress', { summary: { ...counts } })
  return await fleetEnding(run, { preview: false })
}
