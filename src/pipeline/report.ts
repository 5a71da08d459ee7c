import type { HealthCheckOutcome, OperationName, PlannedMigration, Report, RestorePlan } from '../domain/index.js'
import type { RollbackOutcome } from './steps/restore-on-failure.js'

// Every report a deployment ends with is built here: the seed's JSON shapes (SPEC §6), field for
// field, plus `mode` (issue 3 asks for the mode in the report).

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000

export function successReport (input: {
  environment: string
  mode: string
  migrations: Array<{ name: string, durationMs: number }>
  totalDurationMs: number
  backupId: string | null
  healthCheckBefore: HealthCheckOutcome
  healthCheckAfter: HealthCheckOutcome
}): Report {
  const count = input.migrations.length
  return {
    status: 'success',
    operation: 'deploy-migrations',
    environment: input.environment,
    mode: input.mode,
    result: {
      migrations_applied: count,
      migrations: input.migrations.map((m) => ({ name: m.name, status: 'applied', duration_seconds: round(m.durationMs / 1000) })),
      total_duration_seconds: round(input.totalDurationMs / 1000),
      backup_id: input.backupId,
      health_check_before: input.healthCheckBefore,
      health_check_after: input.healthCheckAfter
    },
    message: `Successfully applied ${count} migration${count === 1 ? '' : 's'} to ${input.environment}`
  }
}

export function noPendingReport (operation: OperationName, environment: string, mode: string): Report {
  return {
    status: 'success',
    operation,
    environment,
    mode,
    result: { migrations_applied: 0, message: 'No pending migrations' },
    message: 'No pending migrations'
  }
}

export function previewReport (environment: string, migrations: PlannedMigration[], mode: string): Report {
  return {
    status: 'success',
    operation: 'preview-migrations',
    environment,
    mode,
    result: {
      pending_migrations: migrations.length,
      migrations: migrations.map((m) => ({
        name: m.name,
        sql: m.sql,
        estimated_duration_seconds: m.estimated_duration_seconds,
        estimate_basis: m.estimate_basis,
        transactional: m.transactional,
        warnings: m.warnings
      })),
      total_estimated_duration_seconds: round(migrations.reduce((sum, m) => sum + m.estimated_duration_seconds, 0))
    },
    message: 'Preview only - no changes applied'
  }
}

/** A restore-backup dry run: which backup, and what restoring it would un-apply. */
export function restorePreviewReport (environment: string, mode: string, restore: RestorePlan): Report {
  return {
    status: 'success',
    operation: 'restore-backup',
    environment,
    mode,
    result: { backup_id: restore.backup_id, restore },
    message: 'Preview only - no changes applied'
  }
}

export function restoreReport (input: {
  environment: string
  mode: string
  backupId: string
  preRestoreBackupId: string | null
  unapplied: string[]
  totalDurationMs: number
  healthCheckBefore: HealthCheckOutcome
  healthCheckAfter: HealthCheckOutcome
}): Report {
  return {
    status: 'success',
    operation: 'restore-backup',
    environment: input.environment,
    mode: input.mode,
    result: {
      backup_id: input.backupId,
      pre_restore_backup_id: input.preRestoreBackupId,
      migrations_unapplied: input.unapplied,
      total_duration_seconds: round(input.totalDurationMs / 1000),
      health_check_before: input.healthCheckBefore,
      health_check_after: input.healthCheckAfter
    },
    message: `Restored ${input.environment} to ${input.backupId}`
  }
}

export interface ErrorReportInput {
  operation: OperationName
  environment: string
  mode: string
  error: string
  failedMigration?: string | null
  backupId?: string | null
  /** The names of the migrations applied before the failure: the report counts them and lists them in `applied_migrations`. */
  migrationsAppliedBeforeFailure?: string[]
  rollback?: RollbackOutcome
  suggestions: string[]
  /** Extra fields of the specific error shapes (health_check, details, backup_error, …). */
  extraResult?: Record<string, unknown>
}

export function errorReport (input: ErrorReportInput): Report {
  const backupId = input.backupId ?? null
  const applied = input.migrationsAppliedBeforeFailure ?? []
  return {
    status: 'error',
    operation: input.operation,
    environment: input.environment,
    mode: input.mode,
    error: input.error,
    result: {
      failed_migration: input.failedMigration ?? null,
      backup_id: backupId,
      migrations_applied_before_failure: applied.length,
      applied_migrations: applied,
      rollback_initiated: input.rollback?.initiated ?? false,
      rollback_status: input.rollback?.status ?? null,
      ...(input.rollback?.error === undefined ? {} : { rollback_error: input.rollback.error }),
      ...input.extraResult
    },
    recovery: {
      backup_id: backupId,
      rollback_command: backupId === null ? null : `migration-deployer restore --env ${input.environment} --backup ${backupId}`,
      suggestions: input.suggestions
    }
  }
}
