import { AppError } from '../errors/index.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import type { RollbackOutcome } from './steps/restore-on-failure.js'

export interface FailureDetails {
  /** The report's `error` text. */
  error: string
  /** A stable code for what failed (`PREFLIGHT_FAILED`), in the report as `error_code`; default DEPLOYMENT_FAILED. */
  code?: string
  failedMigration?: string | null
  /** The names of the migrations this deployment applied before it failed, in order. */
  migrationsAppliedBeforeFailure?: string[]
  suggestions?: string[]
  backupId?: string | null
  /** How the rollback went, when the deployment failed after applying began. */
  rollback?: RollbackOutcome
  /** Fields of the specific error shapes (`health_check`, `details`, `database_error`, …). */
  extraResult?: Record<string, unknown>
}

/** Ends a deployment as `failed` with the seed's error report; thrown by pipeline steps. */
export class DeploymentFailure extends AppError {
  readonly failure: FailureDetails
  constructor (failure: FailureDetails, cause?: unknown) {
    super(failure.code ?? 'DEPLOYMENT_FAILED', 500, failure.error, { cause })
    this.failure = failure
  }
}

/** The failure details of whatever ended a deployment (or a fleet target) as failed. */
export function failureFrom (error: unknown): FailureDetails {
  if (error instanceof DeploymentFailure) return error.failure
  if (error instanceof AppError) return { error: safeErrorMessage(error), suggestions: [] }
  return {
    error: `Internal error: ${safeErrorMessage(error)}`,
    suggestions: ['This is a bug in migration-deployer or its environment; the worker log has the details']
  }
}
