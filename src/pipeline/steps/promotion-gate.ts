import type { EnvironmentConfig } from '../../config/load.js'
import { checksumsAppliedIn } from '../../store/applied-migrations.js'
import type { Plan } from '../../domain/index.js'
import type { Queryable } from '../../store/pool.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRun } from '../deployment-run.js'

/** Per environment of `requires_success_in`, the planned migrations not yet applied there (by checksum). */
export async function missingPromotions (db: Queryable, environment: Pick<EnvironmentConfig, 'requires_success_in'>, plan: Pick<Plan, 'migrations'>): Promise<Record<string, string[]>> {
  const missing: Record<string, string[]> = {}
  const checksums = plan.migrations.map((m) => m.checksum)
  for (const required of environment.requires_success_in) {
    const applied = await checksumsAppliedIn(db, required, checksums)
    const absent = plan.migrations.filter((m) => !applied.has(m.checksum)).map((m) => m.name)
    if (absent.length > 0) missing[required] = absent
  }
  return missing
}

/**
 * The promotion gate (`requires_success_in`), checked while the plan is made, before the
 * approval gate: every planned migration must have been applied successfully, with the same
 * checksum (the same bytes), by a deployment to each named environment. A dry run only warns.
 */
export async function enforcePromotionGate (run: DeploymentRun, plan: Plan): Promise<void> {
  const { deployment, environment, recorder } = run
  const required = environment.requires_success_in
  if (required.length === 0 || plan.migrations.length === 0) return
  const missing = await missingPromotions(run.ctx.pool, environment, plan)
  const failing = Object.keys(missing)
  if (failing.length === 0) {
    await recorder.log(`✓ Promotion gate: all ${plan.migrations.length} pending migrations were applied in ${required.join(', ')} first`)
    return
  }
  const summary = failing.map((name) => `not yet applied in ${name}: ${(missing[name] ?? []).join(', ')}`).join('; ')
  if (deployment.dry_run) {
    await recorder.log(`⚠ Promotion gate would refuse this plan: ${summary}`)
    return
  }
  await recorder.log(`✗ Promotion gate: ${summary}`)
  throw new DeploymentFailure({
    error: `Promotion gate refused the plan: ${summary}`,
    suggestions: [
      ...failing.map((name) => `Deploy the same migrations (the same files, byte for byte) to ${name} first, then create a new deployment to ${environment.name}`),
      `Compare what is applied where with GET /environments/${failing[0] ?? ''}/status`
    ],
    extraResult: { promotion_gate: 'failed', requires_success_in: required, missing_migrations: missing }
  })
}
