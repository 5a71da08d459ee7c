import { mayReadIn, readableEnvironments } from '../../../auth/environment-scope.js'
import type { Principal } from '../../../auth/principal.js'
import { NotFoundError } from '../../../errors/index.js'
import type { Queryable } from '../../../store/pool.js'
import { deploymentEnvironment } from '../../../store/deployments.js'

/**
 * Refuses with a 404 a deployment that does not exist or that the principal may not read (an OIDC
 * rule's roles hold in its environments only). The same answer for both, so a token scoped to
 * staging cannot learn which production deployment ids exist.
 */
export async function assertReadableDeployment (db: Queryable, principal: Principal, id: string): Promise<void> {
  const environment = await deploymentEnvironment(db, id)
  if (environment === undefined || !mayReadIn(principal, environment)) throw new NotFoundError(`deployment ${id} not found`)
}

/** Whether reads need the check at all: only principals scoped to some environments do. */
export function isScoped (principal: Principal): boolean {
  return readableEnvironments(principal) !== undefined
}
