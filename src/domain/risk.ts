/** How risky a plan is (SPEC §15): `low` when no policy rule matches. */
export const RISK_LEVELS = ['low', 'medium', 'high'] as const
export type RiskLevel = typeof RISK_LEVELS[number]

/**
 * The kinds of statement a risk rule can name (`policy.rules[].when.statements`), each found in
 * the statement's parse tree, never by matching its text. A waiver names one by its slug
 * (`DROP COLUMN` → `drop-column`).
 */
export const STATEMENT_KINDS = [
  'DROP TABLE', 'DROP COLUMN', 'DROP SCHEMA', 'DROP INDEX', 'DROP VIEW', 'DROP TYPE', 'DROP FUNCTION', 'DROP CONSTRAINT', 'TRUNCATE', 'DELETE', 'UPDATE',
  'ALTER COLUMN TYPE', 'SET NOT NULL', 'ADD COLUMN', 'RENAME TABLE', 'RENAME COLUMN', 'CREATE INDEX', 'CREATE TABLE', 'ADD CONSTRAINT', 'ALTER TABLE'
] as const
export type StatementKind = typeof STATEMENT_KINDS[number]

/** The name a waiver uses for a statement kind: `DROP COLUMN` → `drop-column`. */
export function statementKindSlug (kind: StatementKind): string {
  return kind.toLowerCase().replaceAll(' ', '-')
}

/** One policy rule that matched a migration and set (or would have set) the plan's risk. */
export interface RiskReason {
  migration: string
  /** The rule's name: the policy rule's `name`, else the statement kind's slug or the squawk rule id it matched. */
  rule: string
  risk: RiskLevel
  reason: string
  /** What matched: `DROP COLUMN "User"."email"` or `squawk ban-drop-column`. */
  matched: string
  /** 1-based line of the migration file. */
  line: number | null
  /** Set when an in-file waiver lifts this match: it then sets no risk. */
  waived_by: string | null
}

/** `-- migration-deployer: allow <rule> because <reason>` in a migration file. */
export interface RiskWaiver {
  migration: string
  rule: string
  reason: string
  line: number
  /** How many matches of the plan it lifted (0: it waived nothing here). */
  lifted: number
}

/** What the risk policy decided for a plan, shown to the approver first. */
export interface PlanRisk {
  level: RiskLevel
  /** Every match, the waived ones too (with `waived_by`). */
  reasons: RiskReason[]
  waivers: RiskWaiver[]
  /** The approval the plan needs when `approvals_by_risk` raises the environment's; null when it does not. */
  approval: { required_approvals: number, roles: string[] } | null
}
