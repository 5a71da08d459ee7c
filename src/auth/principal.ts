import type { Role } from '../domain/index.js'

/** Who is calling: the token's name and roles. */
export interface Principal {
  name: string
  roles: readonly Role[]
}

/** Whether the principal has any of the roles; `admin` has every role. */
export function hasRole (principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.includes('admin') || principal.roles.some((role) => roles.includes(role))
}
