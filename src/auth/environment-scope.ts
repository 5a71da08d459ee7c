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

/**
 * The environments whose deployments and status the principal may read: its OIDC rule's
 * `environments`, narrowed to the environment a bound token was issued for; undefined for
 * everywhere (static tokens, people's sessions, rules without a list). A role granted for some
 * environments holds only there, reading included.
 */
export function readableEnvironments (principal: Principal): readonly string[] | undefined {
  if (principal.boundEnvironment === undefined) return principal.environments
  return (principal.environments ?? [principal.boundEnvironment]).filter((environment) => environment === principal.boundEnvironment)
}

/** Whether the principal may read what happens in `environment` (see readableEnvironments). */
export function mayReadIn (principal: Principal, environment: string): boolean {
  return readableEnvironments(principal)?.includes(environment) ?? true
}
