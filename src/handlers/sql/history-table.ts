import type pg from 'pg'
import type { HistoryTable } from '../shared/history-table.js'
import type { HistoryEntry } from '../types.js'
import { parseSqlMigrationName } from './naming.js'

/** The sql handler's history table name unless the environment's `sql.history_table` says otherwise. */
export const DEFAULT_SQL_HISTORY_TABLE = 'migration_deployer_history'

/** The DDL of the sql handler's history table (`name` is a validated lowercase identifier). */
export function createSqlHistoryTable (name: string): string {
  return `CREATE TABLE IF NOT EXISTS "${name}" (
    "id"              BIGSERIAL PRIMARY KEY,
    "version"         VARCHAR(100) NOT NULL,
    "name"            VARCHAR(255) NOT NULL,
    "checksum"        VARCHAR(64) NOT NULL,
    "started_at"      TIMESTAMPTZ NOT NULL DEFAULT now(),
    "finished_at"     TIMESTAMPTZ,
    "duration_ms"     INTEGER,
    "logs"            TEXT,
    "rolled_back_at"  TIMESTAMPTZ
)`
}

function versionOf (name: string): string {
  const parsed = parseSqlMigrationName(name)
  return 'refused' in parsed ? '' : parsed.version
}

/**
 * The sql handler's own history table: one row per run of a migration (the file name without
 * `.sql`, its version, the sha256 hex of its bytes), started before the script runs and finished
 * after it, with its duration; `logs` holds the error of a failed one and `rolled_back_at` marks
 * rows resolved away. Rows are read in the order they were inserted.
 */
export function sqlHistoryTable (name: string): HistoryTable {
  const quoted = `"${name}"`
  const exists = async (client: pg.Client): Promise<boolean> => {
    const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS "exists"', [quoted])
    return rows[0]?.exists === true
  }
  return {
    name,
    ensure: async (client) => { await client.query(createSqlHistoryTable(name)) },
    async read (client): Promise<HistoryEntry[] | undefined> {
      if (!await exists(client)) return undefined
      const { rows } = await client.query<{ name: string, checksum: string, started_at: Date, finished_at: Date | null, logs: string | null }>(
        `SELECT name, checksum, started_at, finished_at, logs FROM ${quoted} WHERE rolled_back_at IS NULL ORDER BY id`
      )
      return rows.map((row) => ({ name: row.name, checksum: row.checksum, startedAt: row.started_at, finishedAt: row.finished_at, logs: row.logs }))
    },
    async insertStarted (client, migration) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO ${quoted} (version, name, checksum, started_at) VALUES ($1, $2, $3, clock_timestamp()) RETURNING id::text AS id`,
        [versionOf(migration.name), migration.name, migration.checksum]
      )
      return rows[0]?.id as string
    },
    async markFinished (client, id) {
      await client.query(`UPDATE ${quoted} SET finished_at = clock_timestamp(), duration_ms = round(extract(epoch FROM clock_timestamp() - started_at) * 1000) WHERE id = $1`, [id])
    },
    inTransactionSql (client, migration) {
      const named = client.escapeLiteral(migration.name)
      return {
        started: `INSERT INTO ${quoted} (version, name, checksum, started_at) VALUES (${client.escapeLiteral(versionOf(migration.name))}, ${named}, ${client.escapeLiteral(migration.checksum)}, clock_timestamp())`,
        // The row just inserted: under the migration lock, and with no unfinished row allowed
        // before an apply starts, it is the only unfinished, live row of this name.
        finished: `UPDATE ${quoted} SET finished_at = clock_timestamp(), duration_ms = round(extract(epoch FROM clock_timestamp() - started_at) * 1000) WHERE name = ${named} AND finished_at IS NULL AND rolled_back_at IS NULL`
      }
    },
    async markFailed (client, id, logs) {
      await client.query(`UPDATE ${quoted} SET logs = $2 WHERE id = $1`, [id, logs])
    },
    async markUnfinishedFailed (client, migration, logs) {
      await client.query(`UPDATE ${quoted} SET logs = $2 WHERE name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`, [migration, logs])
    },
    async markUnfinishedRolledBack (client, migration) {
      const { rowCount } = await client.query(`UPDATE ${quoted} SET rolled_back_at = now() WHERE name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`, [migration])
      return rowCount ?? 0
    },
    async insertApplied (client, migration) {
      await client.query(
        `INSERT INTO ${quoted} (version, name, checksum, started_at, finished_at, duration_ms, logs) VALUES ($1, $2, $3, now(), now(), 0, 'recorded as applied by resolve')`,
        [versionOf(migration.name), migration.name, migration.checksum]
      )
    }
  }
}
