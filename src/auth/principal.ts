/** Who is calling: the token's name and roles (the built-in ones and any custom role the config names). */
export interface Principal {
  name: string
  roles: readonly string[]
}

/** Whether the principal has any of the roles (built-in or custom, like `dba`); `admin` has every role. */
export function hasRole (principal: Principal, roles: readonly string[]): boolean {
  return principal.roles.includes('admin') || principal.roles.some((role) => roles.includes(role))
}
