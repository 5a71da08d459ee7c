import { AppError } from '../errors/app-error.js'
import { maskSecrets } from '../lib/mask-secrets.js'

/**
 * Restoring a backup failed. The restore runs in one transaction, so this also means the
 * database was left as it was before the attempt. The message is masked here.
 */
export class RestoreError extends AppError {
  constructor (message: string, options: { details?: unknown, cause?: unknown } = {}) {
    super('RESTORE_FAILED', 500, maskSecrets(message), options)
  }
}
