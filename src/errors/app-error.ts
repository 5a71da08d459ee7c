/**
 * The base of every error the service reports on purpose: a stable `code` for clients,
 * the HTTP status it maps to, and optional `details` that are safe to show.
 */
export class AppError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details: unknown

  constructor (code: string, statusCode: number, message: string, options: { details?: unknown, cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.statusCode = statusCode
    this.details = options.details
  }
}
