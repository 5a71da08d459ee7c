import type pg from 'pg'
import type { Principal } from '../../auth/principal.js'
import type { Config } from '../../config/load.js'
import type { DeploymentRow } from '../../domain/index.js'
import { ConflictError, NotFoundError } from '../../errors/index.js'
import { getDeployment } from '../../store/deployments.js'
import { insertFleetRetry, unsuccessfulFleetTargets } from '../../store/fleet-targets.js'
import { createDeployment } from '../create-deployment.js'

/**
 * `POST /deployments/:id/retry` (SPEC §14): a new deployment of the same migrations (the same
 * uploaded bytes, or the same folder) to the targets of a finished fleet deployment that did not
 * succeed (failed and skipped), linked to it. It plans afresh and goes through the approval gate
 * like any deployment. Returns the new row; the caller enqueues it.
 */
export async function retryFleetDeployment (pool: pg.Pool, config: Config, principal: Principal, id: string): Promise<DeploymentRow> {
  const first = await getDeployment(pool, id)
  if (first === undefined) throw new NotFoundError(`deployment ${id} not found`)
  if (config.environments[first.environment]?.targets === undefined) {
    throw new ConflictError(`deployment ${id} is not a fleet deployment (environment ${first.environment} has no targets): create a new deployment instead`, undefined, 'NOT_A_FLEET')
  }
  if (first.status !== 'succeeded' && first.status !== 'failed') {
    throw new ConflictError(`deployment ${id} is ${first.status}: only a finished fleet deployment (succeeded or failed) can be retried`, { status: first.status }, 'NOT_FINISHED')
  }
  const targets = await unsuccessfulFleetTargets(pool, id)
  if (targets.length === 0) throw new ConflictError(`every target of deployment ${id} succeeded: there is nothing to retry`, undefined, 'NOTHING_TO_RETRY')
  return await createDeployment(pool, config, principal, {
    operation: 'deploy-migrations',
    environment: first.environment,
    dry_run: false,
    skip_backup: first.skip_backup,
    skip_health_check: first.skip_health_check,
    working_directory: first.inline_migrations === null ? first.working_directory ?? undefined : undefined,
    migrations: first.inline_migrations?.map((m) => ({ name: m.name, sql: m.sql })),
    source: first.source ?? undefined
  }, { inTransaction: async (db, row) => { await insertFleetRetry(db, row.id, id, targets) } })
}
