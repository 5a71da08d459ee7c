import { AppError } from './app-error.js'

/**
 * A migration holds a statement that reaches beyond its database (`COPY … PROGRAM`, `lo_import`,
 * dblink, …) and the environment's `policy.allow_statements` does not list it. Nothing was run.
 */
export class StatementNotAllowedError extends AppError {
  constructor (message: string, details: unknown) {
    super('STATEMENT_NOT_ALLOWED', 422, message, { details })
  }
}
