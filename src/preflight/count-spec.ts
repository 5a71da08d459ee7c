import type { PreflightCheckKind, PreflightStatus } from '../domain/index.js'

/** A table as a statement names it. */
export interface Relation {
  schema: string | undefined
  name: string
}

/** How to count the rows a statement would fail on: one read-only query on the target. */
export type Count =
  /** Rows with NULL in any of the columns. */
  | { kind: 'nulls', columns: string[] }
  /** Every row (a new NOT NULL column without a default is NULL in each). */
  | { kind: 'all_rows' }
  /** Rows sharing their key with another row. */
  | { kind: 'duplicates', keys: string[], where: string | undefined, nullsDistinct: boolean }
  /** Rows whose key is not in the referenced table (`parentColumns` undefined: its primary key). */
  | { kind: 'orphans', columns: string[], parent: Relation, parentColumns: string[] | undefined, parentEmpty: boolean }
  /** Rows for which the CHECK expression is false. */
  | { kind: 'violations', expression: string }
  /** Rows whose value does not convert (`value` is the USING expression, or the column cast to the type). */
  | { kind: 'casts', column: string, value: string }

/** One statement that can fail on existing rows, found in the parse tree. */
export interface CheckSpec {
  migration: string
  statementIndex: number
  check: PreflightCheckKind
  relation: Relation
  columns: string[]
  /** The query to run, or the answer reasoned from earlier statements of the plan. */
  count: Count | { kind: 'reasoned', status: PreflightStatus, reason: string }
  /** What the offending rows have, for the report: `have NULL in "email"`. */
  describe: string
}

/** `"User"`, `public."Order"`: an identifier quoted as PostgreSQL's quote_ident would always do. */
export function quoteIdent (name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

export function relationSql (relation: Relation): string {
  return relation.schema === undefined ? quoteIdent(relation.name) : `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`
}

/** The key a plan tracks a table by (an unqualified name is taken to be in `public`). */
export function relationKey (relation: Relation): string {
  return `${relation.schema ?? 'public'}.${relation.name}`
}
