import { DeploymentRecorder } from './deployment-recorder.js'
import { endDeployment } from './end-deployment.js'
import type { PipelineContext } from './pipeline-context.js'
import { migrationsAppliedBy } from '../store/applied-migrations.js'
import { LOCK_NAMESPACES, openControlSession, tryAdvisoryLock } from '../store/control-locks.js'
import { getDeployment } from '../store/deployments.js'
import type { Phase } from '../domain/index.js'

/**
 * Ends a deployment whose worker died more often than `WORKER_MAX_STALLED` allows (BullMQ failed
 * its job as stalled): something in it keeps killing workers (memory, a crashing driver), so
 * retrying forever would not help. Nothing is half-applied — each migration commits with its
 * history row or not at all — and the report says which migrations this deployment applied.
 * Only done while no live worker holds the deployment's lease. Returns true if it failed it.
 */
export async function failAbandonedDeployment (ctx: PipelineContext, deploymentId: string, phase: Phase): Promise<boolean> {
  const session = await openControlSession(ctx.pool, 'migration-deployer reconciler')
  try {
    if (!await tryAdvisoryLock(session, LOCK_NAMESPACES.deploymentLease, deploymentId)) return false
    const deployment = await getDeployment(session, deploymentId)
    if (deployment === undefined || (deployment.status !== 'queued' && deployment.status !== 'running') || deployment.phase !== phase) return false
    // A fleet's rows are per target: each migration is named once.
    const applied = [...new Set((await migrationsAppliedBy(session, deploymentId)).map((migration) => migration.name))]
    const error = `The worker running this deployment stopped (crashed or was killed) too many times during its ${phase} phase (WORKER_MAX_STALLED)`
    const suggestions = [
      'Nothing is half-applied: each migration commits together with its history row, or not at all',
      ...(applied.length > 0 ? [`${applied.length} migration${applied.length === 1 ? '' : 's'} applied by this deployment stayed applied: ${applied.join(', ')}`] : []),
      'Look at the worker logs and the machine (out of memory? killed by the orchestrator?), then create a new deployment for what is still pending',
      `Compare with GET /environments/${deployment.environment}/status`
    ]
    const recorder = new DeploymentRecorder(session, deployment, ctx.logger.child({ deployment_id: deploymentId }))
    const failed = await endDeployment({ db: session, deployment, recorder }, ['queued', 'running'], {
      status: 'failed',
      failure: { error, migrationsAppliedBeforeFailure: applied, suggestions }
    })
    if (failed === undefined) return false
    ctx.logger.error({ deployment_id: deploymentId, phase }, 'deployment failed: its worker kept dying')
    return true
  } finally {
    await session.end().catch(() => {})
  }
}
