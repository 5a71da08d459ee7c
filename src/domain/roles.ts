/** What a token may do (SPEC §3): `admin` has every role. */
export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const
export type Role = typeof ROLES[number]

/**
 * A role a config may define beyond the built-in ones (e.g. `dba`, required by
 * `policy.approvals_by_risk`): lowercase letters, digits, `-` and `_`. It grants nothing by itself.
 */
export const CUSTOM_ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/

/**
 * The actor of audit events the service causes itself: the worker's state changes, steps and
 * log lines, and approval expiry. Reserved: no token may be named so (the config refuses it).
 */
export const SYSTEM_ACTOR = 'system'
