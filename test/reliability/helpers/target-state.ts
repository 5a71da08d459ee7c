import { queryDatabase } from '../../helpers/databases.js'

export interface MigrationState {
  name: string
  /** Finished, not rolled back rows of `_prisma_migrations` for it. */
  recorded: number
  /** Whether its table `t<i>` exists. */
  tableExists: boolean
}

/** For each of `migrations` (from `slowMigrations`): how often it is recorded, and whether its change exists. */
export async function migrationStates (database: string, migrations: Array<{ name: string }>): Promise<MigrationState[]> {
  const [history] = await queryDatabase<{ found: boolean }>(database, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  const recorded = history?.found === true
    ? await queryDatabase<{ migration_name: string, n: number }>(database, 'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY migration_name')
    : []
  const tables = await queryDatabase<{ table_name: string }>(database, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
  const counts = new Map(recorded.map((row) => [row.migration_name, row.n]))
  const tableNames = new Set(tables.map((row) => row.table_name))
  return migrations.map((migration, i) => ({ name: migration.name, recorded: counts.get(migration.name) ?? 0, tableExists: tableNames.has(`t${i}`) }))
}

/** Rows of `_prisma_migrations` that never finished (a half-applied migration would leave one). */
export async function unfinishedRows (database: string): Promise<number> {
  const [history] = await queryDatabase<{ found: boolean }>(database, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  if (history?.found !== true) return 0
  const [row] = await queryDatabase<{ n: number }>(database, 'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NULL')
  return row?.n ?? 0
}

/** How many migrations are recorded as applied. */
export async function appliedCount (database: string): Promise<number> {
  const [history] = await queryDatabase<{ found: boolean }>(database, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  if (history?.found !== true) return 0
  const [row] = await queryDatabase<{ n: number }>(database, 'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL')
  return row?.n ?? 0
}
