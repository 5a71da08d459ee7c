/** What a token may do (SPEC §3): `admin` has every role. */
export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const
export type Role = typeof ROLES[number]

/**
 * The actor of audit events the service causes itself: the worker's state changes, steps and
 * log lines, and approval expiry. Reserved: no token may be named so (the config refuses it).
 */
export const SYSTEM_ACTOR = 'system'
