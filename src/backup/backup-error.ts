import { AppError } from '../errors/app-error.js'
import { maskSecrets } from '../lib/mask-secrets.js'

/**
 * Taking, verifying, recording or pruning a backup failed. The message is masked here, so
 * whatever a tool wrote to stderr (which may quote a URL or a password) can be passed in as is.
 */
export class BackupError extends AppError {
  constructor (message: string, options: { details?: unknown, cause?: unknown } = {}) {
    super('BACKUP_FAILED', 500, maskSecrets(message), options)
  }
}
