import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { sha256Hex } from '../../src/lib/checksum.js'
import { migrateControlDatabase } from '../../src/process/migrate-control-database.js'
import { CONTROL_MIGRATIONS_DIR } from '../../src/store/control-schema.js'

/** A URL to the server's maintenance database, for CREATE/DROP DATABASE. */
export function adminUrl (): string {
  const explicit = process.env.TEST_ADMIN_DATABASE_URL
  if (explicit !== undefined && explicit !== '') return explicit
  const base = process.env.DATABASE_URL
  if (base === undefined) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which starts local PostgreSQL and Redis')
  const url = new URL(base)
  url.pathname = '/postgres'
  return url.toString()
}

/** The URL of another database on the same server. */
export function databaseUrl (name: string): string {
  const url = new URL(adminUrl())
  url.pathname = `/${name}`
  return url.toString()
}

async function withAdmin<T> (fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** A unique, valid database name with a readable prefix. */
export function uniqueName (prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
}

function controlTemplateName (): string {
  // The template is keyed by the control migrations' content, so a schema change makes a new one.
  const files = readdirSync(CONTROL_MIGRATIONS_DIR).sort()
    .filter((dir) => existsSync(path.join(CONTROL_MIGRATIONS_DIR, dir, 'migration.sql')))
    .map((dir) => readFileSync(path.join(CONTROL_MIGRATIONS_DIR, dir, 'migration.sql')))
  return `md_control_tpl_${sha256Hex(Buffer.concat(files)).slice(0, 12)}`
}

/**
 * Creates a fresh control database by cloning a migrated template (made once, under an
 * advisory lock, so parallel test files share it): fast isolation per test file.
 */
export async function createControlDatabase (): Promise<string> {
  const template = controlTemplateName()
  const name = uniqueName('md_control')
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock(4242001)')
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])
      if (rowCount === 0) {
        await admin.query(`CREATE DATABASE "${template}"`)
        await migrateControlDatabase(databaseUrl(template))
      }
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`)
    } finally {
      await admin.query('SELECT pg_advisory_unlock(4242001)')
    }
  })
  return name
}

/** Creates an empty database. */
export async function createEmptyDatabase (prefix = 'md_target'): Promise<string> {
  const name = uniqueName(prefix)
  await withAdmin(async (admin) => { await admin.query(`CREATE DATABASE "${name}"`) })
  return name
}

/** Drops a database, disconnecting anyone still on it. */
export async function dropDatabase (name: string): Promise<void> {
  await withAdmin(async (admin) => { await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) })
}

/** Runs a query on a database by name, on a short-lived connection. */
export async function queryDatabase<T extends pg.QueryResultRow = Record<string, unknown>> (name: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl(name) })
  await client.connect()
  try {
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end()
  }
}
