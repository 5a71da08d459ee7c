import { AppError } from './app-error.js'

/**
 * A target's database URL (from the variable an environment's `database_url_env` names) cannot be
 * used as written, e.g. a `schema` parameter Prisma could not use. A server-side setting, so 500;
 * the message names the part to fix, never the URL.
 */
export class TargetUrlError extends AppError {
  constructor (message: string) { super('TARGET_URL_INVALID', 500, message) }
}
