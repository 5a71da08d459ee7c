import type pg from 'pg'
import type { HistoryEntry, MigrationFile } from '../types.js'

/**
 * A handler's history table, as the shared apply, status and resolve code uses it. Each handler
 * keeps its own table and row protocol (Prisma's `_prisma_migrations`, the sql handler's
 * `migration_deployer_history`); the rules around them (one transaction with the row, a row left
 * failed outside one, rolled-back rows ignored) are the same.
 */
export interface HistoryTable {
  /** The table's name, for messages. */
  readonly name: string
  /** Creates the table if it is missing. */
  ensure: (client: pg.Client) => Promise<void>
  /** The rows that count (not rolled back), in the order they were started; undefined without a table. */
  read: (client: pg.Client) => Promise<HistoryEntry[] | undefined>
  /**
   * Inserts the row of a migration about to run (unfinished) and returns its id. `id`, where the
   * table takes one (Prisma), makes the row recognisable to a resumed apply.
   */
  insertStarted: (client: pg.Client, migration: MigrationFile, id?: string) => Promise<string>
  /** Marks the row finished: the migration is applied. */
  markFinished: (client: pg.Client, id: string) => Promise<void>
  /**
   * insertStarted and markFinished as SQL text with literal values (escaped with the client's
   * escapeLiteral), to run around the script inside its transaction in one round trip.
   */
  inTransactionSql: (client: pg.Client, migration: MigrationFile, id?: string) => { started: string, finished: string }
  /** Stores the error of a migration that failed outside a transaction; its row stays unfinished. */
  markFailed: (client: pg.Client, id: string, logs: string) => Promise<void>
  /**
   * markFailed by name: the error goes on the live, unfinished row of `name` (under the migration
   * lock, with no unfinished row allowed before an apply starts, the row just inserted).
   */
  markUnfinishedFailed: (client: pg.Client, name: string, logs: string) => Promise<void>
  /** Sets `rolled_back_at` on the unfinished rows of `name`; returns how many. */
  markUnfinishedRolledBack: (client: pg.Client, name: string) => Promise<number>
  /** Records a migration as applied without running it (resolve as applied). */
  insertApplied: (client: pg.Client, migration: MigrationFile) => Promise<void>
}
