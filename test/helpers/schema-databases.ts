import { prismaHandler } from '../../src/handlers/prisma/index.js'
import type { MigrationFile } from '../../src/handlers/types.js'
import { databaseUrl, queryDatabase } from './databases.js'
import { pgDumpText } from './database-snapshots.js'

// Helpers for tests of Prisma's ?schema= URL parameter (test/handlers, test/backup).

/** The URL of `database` with `?schema=<schema>`, form-encoded (a space becomes `+`). */
export function urlWithSchema (database: string, schema: string): string {
  const url = new URL(databaseUrl(database))
  url.searchParams.set('schema', schema)
  return url.toString()
}

/** Applies migrations through the Prisma handler to the target `url` names (its `?schema=` included). */
export async function applyInto (url: string, migrations: MigrationFile[]): Promise<void> {
  const target = await prismaHandler.lock(url, { waitMs: 10_000 })
  try {
    await target.apply(migrations, { lockTimeoutMs: 0, statementTimeoutMs: 0 })
  } finally {
    await target.release()
  }
}

/** The tables of one schema, by name. */
export async function tablesIn (database: string, schema: string): Promise<string[]> {
  const rows = await queryDatabase<{ name: string }>(database,
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
  return rows.map((row) => row.name)
}

/** A schema's whole definition and data, as pg_dump writes it. */
export async function schemaDump (database: string, schema: string): Promise<string> {
  return await pgDumpText(database, [`--schema="${schema}"`])
}

/** 1 when the schema exists, 0 when not. */
export async function schemaCount (database: string, schema: string): Promise<number> {
  const [row] = await queryDatabase<{ n: number }>(database, 'SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema])
  return row?.n ?? 0
}

/** The `_prisma_migrations` rows of one schema, in the order they were applied. */
export async function historyIn (database: string, schema: string): Promise<Array<{ migration_name: string, checksum: string, applied_steps_count: number }>> {
  return await queryDatabase(database,
    `SELECT migration_name, checksum, applied_steps_count FROM "${schema}"._prisma_migrations ORDER BY started_at, migration_name`)
}
