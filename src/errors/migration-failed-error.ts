import { AppError } from './app-error.js'

/**
 * A migration failed while applying. `applied` lists those that committed before it;
 * `databaseMessage` is the server's own error text (credentials masked).
 */
export class MigrationFailedError extends AppError {
  readonly migration: string
  readonly applied: string[]
  readonly databaseMessage: string
  readonly sqlState: string | undefined
  /** True when the migration ran outside a transaction: its history row stays, failed, until resolved. */
  readonly leftFailedRow: boolean

  constructor (migration: string, applied: string[], databaseMessage: string, sqlState?: string, cause?: unknown, leftFailedRow = false) {
    super('MIGRATION_FAILED', 500, `Migration ${migration} failed: ${databaseMessage}`, { cause })
    this.migration = migration
    this.applied = applied
    this.databaseMessage = databaseMessage
    this.sqlState = sqlState
    this.leftFailedRow = leftFailedRow
  }
}
