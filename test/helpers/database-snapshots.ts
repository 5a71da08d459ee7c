import path from 'node:path'
import { execa } from 'execa'
import { childEnvironment, libpqEnvironment } from '../../src/backup/libpq-env.js'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { databaseUrl, queryDatabase } from './databases.js'
import { FIXTURES } from './harness.js'

/** The `app` fixture project's migrations, in order. */
export async function appMigrations (): Promise<Awaited<ReturnType<typeof prismaHandler.readSource>>> {
  return await prismaHandler.readSource(path.join(FIXTURES, 'app'))
}

/** Applies migrations through the Prisma handler, so `_prisma_migrations` holds real rows. */
export async function applyMigrations (database: string, migrations: Awaited<ReturnType<typeof appMigrations>>): Promise<void> {
  const target = await prismaHandler.lock(databaseUrl(database), { waitMs: 10_000 })
  try {
    await target.apply(migrations, { lockTimeoutMs: 0, statementTimeoutMs: 0 })
  } finally {
    await target.release()
  }
}

/**
 * `pg_dump` as plain SQL (credentials in the environment, as the code under test does), without
 * the `\restrict` / `\unrestrict` lines pg_dump 15.14+ writes with a random key.
 */
export async function pgDumpText (database: string, args: string[] = []): Promise<string> {
  const { stdout } = await execa('pg_dump', ['--no-password', ...args], { env: childEnvironment(libpqEnvironment(databaseUrl(database))), extendEnv: false })
  return stdout.split('\n').filter((line) => !/^\\(un)?restrict /.test(line)).join('\n')
}

/** Row count of every table in every non-system schema, keyed `schema.table`. */
export async function rowCounts (database: string): Promise<Record<string, number>> {
  const tables = await queryDatabase<{ schema: string, name: string }>(database, `
    SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
     ORDER BY 1, 2`)
  const counts: Record<string, number> = {}
  for (const table of tables) {
    const [row] = await queryDatabase<{ n: string }>(database, `SELECT count(*) AS n FROM "${table.schema}"."${table.name}"`)
    counts[`${table.schema}.${table.name}`] = Number(row?.n)
  }
  return counts
}

/** Everything a restore must bring back: schema, full SQL (data and sequences) and row counts. */
export async function snapshot (database: string): Promise<{ schema: string, full: string, counts: Record<string, number> }> {
  return { schema: await pgDumpText(database, ['--schema-only']), full: await pgDumpText(database), counts: await rowCounts(database) }
}
