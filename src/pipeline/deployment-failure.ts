import { AppError } from '../errors/index.js'
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
