/**
 * The report a deployment ends with: the original skill's JSON shapes (SPEC §6), field for field.
 * The types and words of the fields the skill names never change (CI scripts parse them); extra
 * fields are welcome (`mode` is one, issue 3).
 */
export type Report = Record<string, unknown>

/** How a health check went: `health_check`, `health_check_before`, `health_check_after`. */
export type HealthCheckOutcome = 'passed' | 'failed' | 'skipped'

/** How the rollback (a restore of the backup taken before applying) went; null when none ran (SPEC §6). */
export type RollbackStatus = 'success' | 'failed' | null
