import { z } from 'zod'
import { CUSTOM_ROLE_PATTERN, ROLES } from '../domain/index.js'

/** A built-in role (SPEC §3) or a custom one such as `dba` (policy.approvals_by_risk). */
export const roleName = z.union([
  z.enum(ROLES),
  z.string().regex(CUSTOM_ROLE_PATTERN, `expected a role: ${ROLES.join(', ')}, or a custom role name (lowercase letters, digits, - and _)`)
])
