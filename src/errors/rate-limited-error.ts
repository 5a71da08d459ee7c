import { AppError } from './app-error.js'

/** Too many requests from one token (or, without a valid token, one address) in the window. */
export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number
  constructor (message: string, details: { limit: number, window_seconds: number, retry_after_seconds: number }) {
    super('RATE_LIMITED', 429, message, { details })
    this.retryAfterSeconds = details.retry_after_seconds
  }
}
