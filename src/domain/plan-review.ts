// What preflight and rehearsal found (SPEC §12): part of the plan an approver reviews, and of its
// checksum. Counts and names only: never a row's values (approvers may not read production data).

/** The kinds of existing rows a statement can fail on. */
export const PREFLIGHT_CHECKS = ['not_null', 'unique', 'foreign_key', 'check', 'cast'] as const
export type PreflightCheckKind = typeof PREFLIGHT_CHECKS[number]
export const PREFLIGHT_STATUSES = ['ok', 'would_fail', 'skipped', 'timed_out'] as const
export type PreflightStatus = typeof PREFLIGHT_STATUSES[number]

/** One statement that can fail on existing rows, and how many rows it would fail on. */
export interface PreflightCheck {
  migration: string
  /** 0-based index of the statement in its migration file. */
  statement_index: number
  check: PreflightCheckKind
  /** The table, as the statement names it (`"User"`, `public.orders`). */
  relation: string
  /** The key's columns (or expressions, as written). */
  columns: string[]
  /** Rows that would make the statement fail; null when not counted (skipped, timed out). */
  offending_rows: number | null
  status: PreflightStatus
  /** Why it was skipped or timed out, or what would fail; never a row value. */
  reason: string | null
}

/** A lock a migration took in rehearsal, and the longest time it was seen held. */
export interface RehearsalLock {
  relation: string
  mode: string
  held_ms: number
}

export interface RehearsedMigration {
  name: string
  duration_seconds: number
  locks: RehearsalLock[]
  /** Tables (and indexes) whose storage was rewritten: their relfilenode changed. */
  rewrites: string[]
}

export const SCHEMA_OBJECTS = ['schema', 'table', 'column', 'index', 'constraint', 'sequence', 'view', 'type', 'function', 'trigger', 'extension'] as const
export interface SchemaChange {
  object: typeof SCHEMA_OBJECTS[number]
  name: string
  change: 'added' | 'dropped' | 'altered'
}

/** The plan applied to a scratch copy of the target: what it took, locked and rewrote, and the schema it left. */
export interface RehearsalResult {
  status: 'passed' | 'failed' | 'skipped'
  reason: string | null
  duration_seconds: number
  migrations: RehearsedMigration[]
  schema_diff: { summary: SchemaChange[], unified: string } | null
}
