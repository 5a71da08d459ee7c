import { AppError } from './app-error.js'

/** The target changed between approval and apply: the approved plan no longer describes what would run. */
export class PlanStaleError extends AppError {
  constructor (message: string, details?: unknown) { super('PLAN_STALE', 409, message, { details }) }
}

/** A target database cannot be reached or refused the connection (message masked). */
export class TargetUnavailableError extends AppError {
  constructor (message: string, cause?: unknown) { super('TARGET_UNAVAILABLE', 503, message, { cause }) }
}

/** The migration lock could not be taken in time; the message names who holds it. */
export class LockTimeoutError extends AppError {
  constructor (message: string, details?: unknown) { super('LOCK_TIMEOUT', 409, message, { details }) }
}

/** The target's history has a failed migration that must be resolved before anything else applies. */
export class FailedMigrationPresentError extends AppError {
  constructor (message: string, details?: unknown) { super('FAILED_MIGRATION_PRESENT', 409, message, { details }) }
}
