import type { Role } from '../config/schema.js'

/** Who is calling: the token's name and roles. */
export interface Principal {
  name: string
  roles: readonly Role[]
}

/** Whether the principal has any of the roles; `admin` has every role. */
export function hasRole (principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.includes('admin') || principal.roles.some((role) => roles.includes(role))
}

/**
 * The actor of audit events the service causes itself: the worker's state changes, steps and
 * log lines, and approval expiry. Reserved: no token may be named so (the config refuses it).
 */
export const SYSTEM_ACTOR = 'system'
