import { fleetMigrationsApplied, fleetSummary, listFleetTargets, type FleetSummary } from '../../store/fleet-targets.js'
import type { DeploymentRun } from '../deployment-run.js'
import type { Ending } from '../end-deployment.js'

const EMPTY: FleetSummary = { total: 0, succeeded: 0, failed: 0, skipped: 0, running: 0, pending: 0 }

/** `12/50 succeeded, 1 failed, 0 skipped, 3 running, 34 pending`: the fleet's progress line. */
export function progressLine (summary: FleetSummary): string {
  return `${summary.succeeded}/${summary.total} succeeded, ${summary.failed} failed, ${summary.skipped} skipped, ${summary.running} running, ${summary.pending} pending`
}

/**
 * How a fleet deployment ends, from its targets' rows: succeeded when every target succeeded
 * (the aggregated report counts what was applied), failed otherwise, naming the targets that
 * failed or were skipped (the first 20) and how to retry them. A dry run reports the plan's groups.
 */
export async function fleetEnding (run: DeploymentRun, options: { preview: boolean }): Promise<Ending> {
  const { ctx, deployment, environment } = run
  const summary = await fleetSummary(ctx.pool, deployment.id) ?? EMPTY
  const groups = deployment.plan?.groups ?? []
  const base = { operation: deployment.operation, environment: environment.name, mode: environment.mode }
  if (options.preview) {
    const report = {
      ...base,
      status: 'success',
      result: {
        pending_migrations: deployment.plan?.pending_migrations ?? 0,
        migrations: (deployment.plan?.migrations ?? []).map((m) => ({ name: m.name, sql: m.sql, estimated_duration_seconds: m.estimated_duration_seconds })),
        total_estimated_duration_seconds: Math.round((deployment.plan?.migrations ?? []).reduce((n, m) => n + m.estimated_duration_seconds, 0) * 1000) / 1000,
        groups: groups.map((g) => ({ target_count: g.target_count, pending_migrations: g.pending_migrations })),
        targets: summary
      },
      message: 'Preview only - no changes applied'
    }
    return { status: 'succeeded', report, summary: { migrationsApplied: 0, durationMs: run.elapsedMs(), backupId: null, healthy: true } }
  }
  const applied = await fleetMigrationsApplied(ctx.pool, deployment.id)
  if (summary.succeeded === summary.total) {
    const targets = `${summary.total} target${summary.total === 1 ? '' : 's'}`
    const report = {
      ...base,
      status: 'success',
      result: {
        migrations_applied: applied,
        total_duration_seconds: Math.round(run.elapsedMs()) / 1000,
        backup_id: null,
        health_check_before: deployment.skip_health_check ? 'skipped' : 'passed',
        health_check_after: deployment.skip_health_check ? 'skipped' : 'passed',
        targets: summary,
        groups: groups.length,
        ...(applied === 0 ? { message: 'No pending migrations' } : {})
      },
      message: applied === 0 ? 'No pending migrations' : `Successfully applied ${applied} migration${applied === 1 ? '' : 's'} to ${targets} of ${environment.name}`
    }
    return { status: 'succeeded', report, summary: { migrationsApplied: applied, durationMs: run.elapsedMs(), backupId: null, healthy: true } }
  }
  const [failed, skipped] = await Promise.all([
    listFleetTargets(ctx.pool, deployment.id, { status: 'failed', afterPosition: -1, limit: 20 }),
    listFleetTargets(ctx.pool, deployment.id, { status: 'skipped', afterPosition: -1, limit: 20 })
  ])
  return {
    status: 'failed',
    failure: {
      error: `Fleet rollout incomplete: ${summary.failed} of ${summary.total} targets failed, ${summary.skipped} skipped (${failed[0]?.name ?? skipped[0]?.name ?? ''}: ${failed[0]?.error ?? skipped[0]?.error ?? ''})`,
      suggestions: [
        `See every target with GET /deployments/${deployment.id}/targets?status=failed (and ?status=skipped)`,
        `Fix the failed targets, then POST /deployments/${deployment.id}/retry to deploy to the targets that did not succeed`
      ],
      extraResult: {
        migrations_applied: applied,
        targets: summary,
        failed_targets: failed.map((t) => ({ name: t.name, error: t.error })),
        skipped_targets: skipped.map((t) => ({ name: t.name, error: t.error }))
      }
    }
  }
}
