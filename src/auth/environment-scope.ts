import { ForbiddenError } from '../errors/index.js'
import type { Principal } from './principal.js'

/**
 * Refuses an action in `environment` that the principal's OIDC rule does not cover: its
 * `environments` list, or with `bind_environment` the environment the CI token was issued for
 * (a token from a job in GitHub's `staging` environment cannot deploy to production).
 * Static tokens and people's sessions act in every environment their roles allow.
 */
export function assertMayActIn (principal: Principal, environment: string): void {
  if (principal.boundEnvironment !== undefined && principal.boundEnvironment !== environment) {
    throw new ForbiddenError(`${principal.name} holds a token issued for environment "${principal.boundEnvironment}" and cannot act in "${environment}": ` +
      `run the job in the ${environment} environment of your CI (bind_environment)`)
  }
  if (principal.environments !== undefined && !principal.environments.includes(environment)) {
    throw new ForbiddenError(`${principal.name} may act only in ${principal.environments.join(', ')} (its OIDC rule's environments), not in "${environment}"`)
  }
}
