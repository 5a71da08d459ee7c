import { AppError } from '../errors/index.js'

export interface FailureDetails {
  /** The report's `error` text. */
  error: string
  failedMigration?: string | null
  migrationsAppliedBeforeFailure?: string[]
  suggestions?: string[]
  backupId?: string | null
  rollbackInitiated?: boolean
  rollbackStatus?: string | null
  /** Fields of the specific error shapes (`health_check`, `details`, `database_error`, …). */
  extraResult?: Record<string, unknown>
}

/** Ends a deployment as `failed` with the seed's error report; thrown by pipeline steps. */
export class DeploymentFailure extends AppError {
  readonly failure: FailureDetails
  constructor (failure: FailureDetails, cause?: unknown) {
    super('DEPLOYMENT_FAILED', 500, failure.error, { cause })
    this.failure = failure
  }
}
