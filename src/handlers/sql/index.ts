import { MIGRATION_DEPLOYER_LOCK_KEY } from '../shared/advisory-lock.js'
import { createHistoryHandler } from '../shared/history-handler.js'
import type { MigrationHandler } from '../types.js'
import { DEFAULT_SQL_HISTORY_TABLE, sqlHistoryTable } from './history-table.js'
import { orderSqlMigrations, readSqlMigrations } from './read-migrations.js'

/**
 * The `sql` handler: a folder of ordered `.sql` files (Flyway's `V<version>__<name>.sql` or
 * `<digits>_<name>.sql`), applied with the Prisma handler's rules (one transaction with the
 * history row where PostgreSQL allows it, statement by statement with a row left failed
 * otherwise), recorded in its own table, under `pg_advisory_lock(1835296112)`.
 */
export function createSqlHandler (options: { history_table?: string | undefined } = {}): MigrationHandler {
  return createHistoryHandler({
    tool: 'sql',
    readSource: readSqlMigrations,
    orderSource: orderSqlMigrations,
    table: sqlHistoryTable(options.history_table ?? DEFAULT_SQL_HISTORY_TABLE),
    lockKey: MIGRATION_DEPLOYER_LOCK_KEY
  })
}
