import { AppError } from './app-error.js'

/** Parsing a migration took longer than `limits.parse_timeout`: the parse was stopped. */
export class ParseTimeoutError extends AppError {
  readonly timeoutMs: number
  constructor (message: string, details: { migration?: string, timeout_ms: number }) {
    super('PARSE_TIMEOUT', 422, message, { details })
    this.timeoutMs = details.timeout_ms
  }
}
