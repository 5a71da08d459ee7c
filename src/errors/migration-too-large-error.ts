import { AppError } from './app-error.js'

/** A migration holds more statements than `limits.max_statements_per_migration` allows. */
export class MigrationTooLargeError extends AppError {
  readonly statements: number
  readonly limit: number
  constructor (message: string, details: { migration?: string, statements: number, limit: number }) {
    super('MIGRATION_TOO_LARGE', 422, message, { details })
    this.statements = details.statements
    this.limit = details.limit
  }
}
