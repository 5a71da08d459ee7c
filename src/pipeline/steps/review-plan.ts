import type { MigrationFile, Plan } from '../../domain/index.js'
import type { MigrationHandler } from '../../handlers/types.js'
import { sha256Hex } from '../../lib/checksum.js'
import type { DeploymentRun } from '../deployment-run.js'
import { preflightStep } from './preflight-step.js'
import { rehearsalStep } from './rehearsal-step.js'

/**
 * What the plan would do to the target, before the approval gate (SPEC §12): preflight on the
 * live target's rows, then a rehearsal on a scratch copy. Their results become part of the plan
 * and of its checksum: an approval is for the migrations AND what the review showed.
 */
export async function reviewPlan (run: DeploymentRun, plan: Plan, pending: MigrationFile[], handler: MigrationHandler): Promise<Plan> {
  const settings = run.environment.rehearsal
  if (settings === false || plan.pending_migrations === 0) return plan
  let reviewed = plan
  if (settings.preflight) reviewed = await preflightStep(run, reviewed, pending, settings)
  if (settings.schema) reviewed = await rehearsalStep(run, reviewed, pending, handler, settings)
  return sealReview(reviewed)
}

/** The checksum over the pending set and the review; the pending set's own stays as `pending_checksum` for the stale check. */
export function sealReview (plan: Plan): Plan {
  const pendingChecksum = plan.pending_checksum ?? plan.checksum
  const canonical = JSON.stringify({ pending: pendingChecksum, preflight: plan.preflight ?? null, rehearsal: plan.rehearsal ?? null })
  return { ...plan, pending_checksum: pendingChecksum, checksum: `sha256:${sha256Hex(canonical)}` }
}
