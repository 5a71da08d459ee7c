import { AppError } from './app-error.js'

/** A token already has as many deployments queued or running as `limits.queued_per_token` allows. */
export class TooManyQueuedError extends AppError {
  /** How long a client should wait before trying again (the Retry-After header). */
  readonly retryAfterSeconds: number
  constructor (message: string, details: { queued: number, limit: number, retry_after_seconds: number }) {
    super('TOO_MANY_QUEUED', 429, message, { details })
    this.retryAfterSeconds = details.retry_after_seconds
  }
}
