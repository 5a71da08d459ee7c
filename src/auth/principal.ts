import type { Role } from '../domain/index.js'
import type { ActorIdentity } from './identity.js'

/** Who is calling: the token's name and roles. */
export interface Principal {
  name: string
  roles: readonly Role[]
  /** An OIDC rule's `environments`: the roles hold there only (undefined: everywhere). */
  environments?: readonly string[] | undefined
  /** With `bind_environment`: the token's `environment` claim, the only environment it may act in. */
  boundEnvironment?: string | undefined
  /** Where an OIDC token or an SSO sign-in came from, for the audit (undefined for a static token). */
  identity?: ActorIdentity | undefined
}

/** Whether the principal has any of the roles; `admin` has every role. */
export function hasRole (principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.includes('admin') || principal.roles.some((role) => roles.includes(role))
}
