import { ensureNamedSchema } from '../lib/ensure-schema.js'
import { connectTarget } from '../lib/target-connection.js'
import { quoteIdentifier, type SchemaUrl } from '../lib/schema-url.js'
import { BackupError } from './backup-error.js'
import type { PgVersion } from './pg-versions.js'

// pg_dump learned --extension in PostgreSQL 14.
const FIRST_PG_DUMP_WITH_EXTENSION = 14

/**
 * A pg_dump name pattern that matches exactly `name`: inside double quotes every pattern and
 * regular-expression character is literal and case is kept (psql's pattern rules).
 */
function exactPattern (name: string): string {
  return quoteIdentifier(name)
}

/**
 * The pg_dump arguments of a backup limited to the URL's schema: `--schema` for it and
 * `--extension` for each extension installed in it (a restore drops the schema, and the
 * extensions in it with it; `--schema` alone dumps no extension). The schema is created first when
 * missing, as Prisma does on connecting, so the first deployment into a new schema backs up an
 * empty schema instead of failing: pg_dump refuses a `--schema` that matches nothing.
 */
export async function schemaDumpArguments (target: SchemaUrl, databaseUrl: string, pgDump: PgVersion): Promise<string[]> {
  let client
  try {
    client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer backup' })
  } catch (error) {
    throw new BackupError(`cannot back up: ${(error as Error).message}`, { cause: error })
  }
  let extensions: string[]
  try {
    await ensureNamedSchema(client, target)
    const { rows } = await client.query<{ extname: string }>(
      `SELECT e.extname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE n.nspname = $1 ORDER BY e.extname`, [target.schema])
    extensions = rows.map((row) => row.extname)
  } catch (error) {
    throw new BackupError(`cannot prepare the backup of schema ${quoteIdentifier(target.schema)}: ${(error as Error).message}`, { cause: error })
  } finally {
    await client.end().catch(() => {})
  }
  if (extensions.length > 0 && pgDump.major < FIRST_PG_DUMP_WITH_EXTENSION) {
    throw new BackupError(`schema ${quoteIdentifier(target.schema)} holds the extension(s) ${extensions.join(', ')}, which pg_dump ${pgDump.text} ` +
      'cannot include in a dump of one schema (it needs --extension, PostgreSQL 14 or later): install a newer PostgreSQL client or set backup.pg_dump_path')
  }
  return [`--schema=${exactPattern(target.schema)}`, ...extensions.map((name) => `--extension=${exactPattern(name)}`)]
}
