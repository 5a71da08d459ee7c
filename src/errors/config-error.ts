import { AppError } from './app-error.js'

/** The config file is missing or invalid; `problems` lists each one with its path. */
export class ConfigError extends AppError {
  readonly problems: string[]
  constructor (message: string, problems: string[]) {
    super('CONFIG_INVALID', 500, message, { details: problems })
    this.problems = problems
  }
}
