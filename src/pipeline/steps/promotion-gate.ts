import type { EnvironmentConfig } from '../../config/load.js'
import { checksumsAppliedIn } from '../../store/applied-migrations.js'
import type { Plan, PromotionGateResult } from '../../domain/index.js'
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
 * Checks the promotion gate (`requires_success_in`) for a plan: every planned migration must have
 * been applied successfully, with the same checksum (the same bytes), by a deployment to each
 * named environment. Undefined when the environment has no gate.
 */
export async function checkPromotionGate (
  db: Queryable, environment: Pick<EnvironmentConfig, 'requires_success_in'>, plan: Pick<Plan, 'migrations'>
): Promise<PromotionGateResult | undefined> {
  const required = environment.requires_success_in
  if (required.length === 0) return undefined
  const count = plan.migrations.length
  if (count === 0) return { requires_success_in: required, passed: true, missing: {}, message: 'nothing pending, so nothing to promote' }
  const missing = await missingPromotions(db, environment, plan)
  const failing = Object.keys(missing)
  if (failing.length === 0) {
    const what = count === 1 ? 'the 1 pending migration was' : `all ${count} pending migrations were`
    return { requires_success_in: required, passed: true, missing, message: `${what} applied in ${required.join(', ')} first` }
  }
  const message = failing.map((name) => `not yet applied in ${name}: ${(missing[name] ?? []).join(', ')}`).join('; ')
  return { requires_success_in: required, passed: false, missing, message }
}

/**
 * The promotion gate, enforced while the plan is made, before the approval gate: a plan the
 * gate refuses ends the deployment before anyone is asked to approve it. A dry run only warns.
 */
export async function enforcePromotionGate (run: DeploymentRun, plan: Pick<Plan, 'migrations'>, gate: PromotionGateResult | undefined): Promise<void> {
  const { deployment, environment, recorder } = run
  if (gate === undefined || plan.migrations.length === 0) return
  if (gate.passed) {
    await recorder.log(`✓ Promotion gate: ${gate.message}`)
    return
  }
  if (deployment.dry_run) {
    await recorder.log(`⚠ Promotion gate would refuse this plan: ${gate.message}`)
    return
  }
  const failing = Object.keys(gate.missing)
  await recorder.log(`✗ Promotion gate: ${gate.message}`)
  throw new DeploymentFailure({
    error: `Promotion gate refused the plan: ${gate.message}`,
    suggestions: [
      ...failing.map((name) => `Deploy the same migrations (the same files, byte for byte) to ${name} first, then create a new deployment to ${environment.name}`),
      `Compare what is applied where with GET /environments/${failing[0] ?? ''}/status`
    ],
    extraResult: { promotion_gate: 'failed', requires_success_in: gate.requires_success_in, missing_migrations: gate.missing }
  })
}
