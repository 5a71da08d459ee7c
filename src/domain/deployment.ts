import type { ActorIdentity } from './actor.js'
import type { MigrationFile } from './migration.js'
import type { PreflightCheck, RehearsalResult } from './plan-review.js'
import type { PlanRisk } from './risk.js'

/** Every state a deployment can be in (SPEC §5). */
export const DEPLOYMENT_STATUSES = ['queued', 'running', 'pending_approval', 'waiting_for_window', 'succeeded', 'failed', 'rejected', 'cancelled', 'expired'] as const
export type DeploymentStatus = typeof DEPLOYMENT_STATUSES[number]
/** The states a deployment never leaves. */
export const TERMINAL_STATUSES: readonly DeploymentStatus[] = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']
export type TerminalStatus = 'succeeded' | 'failed' | 'rejected' | 'cancelled' | 'expired'

/** What a deployment does (SPEC §4): `preview-migrations` is a dry run of `deploy-migrations`. */
export const OPERATIONS = ['deploy-migrations', 'preview-migrations', 'restore-backup'] as const
export type OperationName = typeof OPERATIONS[number]

/** A deployment runs as two jobs at most: `plan` (up to the approval gate) and `apply`. */
export type Phase = 'plan' | 'apply'

/** The steps of a deployment, in the order they run (SPEC §5). */
export const STEP_NAMES = [
  'validate_environment', 'load_configuration', 'determine_mode', 'health_check_before', 'backup', 'check_pending',
  'preflight', 'rehearsal', 'preview', 'approval', 'deploy', 'health_check_after', 'verify', 'rollback'
] as const
export type StepName = typeof STEP_NAMES[number]
export const STEP_STATUSES = ['pending', 'running', 'passed', 'failed', 'skipped'] as const
export type StepStatus = typeof STEP_STATUSES[number]

export interface Step {
  name: StepName
  status: StepStatus
  started_at: string | null
  finished_at: string | null
  detail: string | null
}

export interface PlannedMigration {
  name: string
  checksum: string
  sql: string
  transactional: boolean
  warnings: Array<{ rule: string, message: string }>
  estimated_duration_seconds: number
  /** Where the estimate comes from: `measured in staging` (same checksum) or `size-based guess`. */
  estimate_basis: string
}

/** What a restore-backup plan shows the approver: which backup, how old, what it un-applies. */
export interface RestorePlan {
  backup_id: string
  backup_created_at: string
  backup_age_seconds: number
  backup_size_bytes: number | null
  /** Applied now, absent from the backup: the restore removes them. */
  unapplies: Array<{ name: string, checksum: string }>
  /** In the backup, not applied now: the restore brings them back. */
  reapplies: Array<{ name: string, checksum: string }>
}

/** The targets of a fleet that share one history state, and what is pending on them (SPEC §14). */
export interface PlanGroup {
  /** Target names, in plan order. */
  targets: string[]
  target_count: number
  /** How many migrations the group's history holds already. */
  applied_migrations: number
  /** The group's own plan checksum: what each of its targets must still have pending when it applies. */
  checksum: string
  pending_migrations: number
  migrations: PlannedMigration[]
}

/** What will be applied, frozen by its checksum: approvals are bound to it. */
export interface Plan {
  checksum: string
  pending_migrations: number
  migrations: PlannedMigration[]
  restore?: RestorePlan
  /** A fleet's plan: one group per distinct history state; `migrations` is every group's, once. */
  groups?: PlanGroup[]
  /** `requires_success_in`: what the gate found when the plan was made. */
  promotion_gate?: PromotionGateResult
  /** What the pending statements would fail on among the target's rows (SPEC §12). */
  preflight?: PreflightCheck[]
  /** The plan applied to a scratch copy of the target (SPEC §12). */
  rehearsal?: RehearsalResult
  /** The checksum of the pending set alone, when `checksum` also covers preflight and rehearsal: the stale check compares it. */
  pending_checksum?: string
  /** The risk policy's verdict (SPEC §15): absent when the environment has no policy. */
  risk?: PlanRisk
}

/** The promotion gate's result (`requires_success_in`), kept in the plan so reviewers see it beside the SQL. */
export interface PromotionGateResult {
  requires_success_in: string[]
  passed: boolean
  /** Per required environment, the planned migrations not yet applied there. */
  missing: Record<string, string[]>
  message: string
}

export interface SourceInfo {
  commit?: string | undefined
  ref?: string | undefined
  url?: string | undefined
}

/** Who started a deployment outside its window, when, and why (POST /deployments/:id/override-window). */
export interface WindowOverride {
  by: string
  at: string
  reason: string
}

/** A deployment, as the control database records it (a row of `deployments`). */
export interface DeploymentRow {
  id: string
  operation: OperationName
  environment: string
  mode: 'dev' | 'deploy'
  status: DeploymentStatus
  phase: Phase
  requested_by: string
  /** The requester's issuer, subject and person when it signed in with OIDC or SSO (null: a static token). */
  requested_identity: ActorIdentity | null
  dry_run: boolean
  skip_backup: boolean
  skip_health_check: boolean
  working_directory: string | null
  /** The backup a restore-backup deployment restores. */
  backup_id: string | null
  source: SourceInfo | null
  inline_migrations: MigrationFile[] | null
  source_snapshot: Array<{ name: string, checksum: string }> | null
  plan: Plan | null
  approvals_required: number
  expires_at: Date | null
  /** While `waiting_for_window`: when the environment's window next opens and the deployment starts by itself. */
  next_window_at: Date | null
  /** An admin's break-glass start outside the window (SPEC §15). */
  window_override: WindowOverride | null
  steps: Step[]
  report: Record<string, unknown> | null
  created_at: Date
  updated_at: Date
  started_at: Date | null
  finished_at: Date | null
}
