import { AppError } from '../errors/app-error.js'

/** squawk could not be run, or answered with something other than its JSON report. */
export class LintError extends AppError {
  constructor (message: string, options: { details?: unknown, cause?: unknown } = {}) {
    super('LINT_FAILED', 500, message, options)
  }
}
