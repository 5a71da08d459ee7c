import { AppError } from './app-error.js'

/** The request is malformed; the message says what to fix. */
export class BadRequestError extends AppError {
  constructor (message: string, details?: unknown, code = 'BAD_REQUEST') { super(code, 400, message, { details }) }
}

export class UnauthorizedError extends AppError {
  constructor (message = 'missing or invalid bearer token: send "Authorization: Bearer <token>"') { super('UNAUTHORIZED', 401, message) }
}

export class ForbiddenError extends AppError {
  constructor (message: string) { super('FORBIDDEN', 403, message) }
}

export class NotFoundError extends AppError {
  constructor (message: string) { super('NOT_FOUND', 404, message) }
}

/** The resource is not in a state that allows the action (already approved, already terminal, …). */
export class ConflictError extends AppError {
  constructor (message: string, details?: unknown, code = 'CONFLICT') { super(code, 409, message, { details }) }
}

export class GoneError extends AppError {
  constructor (message: string) { super('GONE', 410, message) }
}

/** A dependency (control database, Redis, a target) cannot be reached right now. */
export class UnavailableError extends AppError {
  constructor (message: string, cause?: unknown) { super('SERVICE_UNAVAILABLE', 503, message, { cause }) }
}
