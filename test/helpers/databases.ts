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
 * The server's CREATE DATABASE copy strategy for test databases: FILE_COPY where the server has
 * one (PostgreSQL 15 and later), which copies a small template's files at once, where the default
 * WAL_LOG writes every block through the WAL: two to three times faster here, and each test file
 * creates four or more databases. Asked once per process.
 */
let strategyClause: Promise<string> | undefined
async function createStrategy (admin: pg.Client | pg.Pool): Promise<string> {
  strategyClause ??= admin.query<{ v: string }>('SHOW server_version_num')
    .then(({ rows }) => Number(rows[0]?.v) >= 150000 ? ' STRATEGY FILE_COPY' : '')
    .catch(() => '')
  return await strategyClause
}

/** The statement that creates database `name` (from `template`, or the server's default). */
export async function createDatabaseStatement (admin: pg.Client | pg.Pool, name: string, template?: string): Promise<string> {
  return `CREATE DATABASE "${name}"${template === undefined ? '' : ` TEMPLATE "${template}"`}${await createStrategy(admin)}`
}

/**
 * Creates a fresh control database by cloning a migrated template. The template is made once,
 * under an advisory lock, so parallel test files (and later runs on the same server) share it;
 * the clone itself runs outside the lock, so parallel files clone at the same time.
 */
export async function createControlDatabase (): Promise<string> {
  const template = controlTemplateName()
  const name = uniqueName('md_control')
  await withAdmin(async (admin) => {
    const exists = async (): Promise<boolean> => ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])).rowCount ?? 0) > 0
    if (!await exists()) {
      await admin.query('SELECT pg_advisory_lock(4242001)')
      try {
        // Made under another name and renamed when complete, so that a template that exists is
        // always fully migrated (a file that finds it needs no lock, and an interrupted run
        // leaves no half-made template behind under the real name).
        if (!await exists()) {
          const building = `${template}_building`
          await admin.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`)
          await admin.query(`CREATE DATABASE "${building}"`)
          await migrateControlDatabase(databaseUrl(building))
          await admin.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`)
        }
      } finally {
        await admin.query('SELECT pg_advisory_unlock(4242001)')
      }
    }
    await admin.query(await createDatabaseStatement(admin, name, template))
  })
  return name
}

/** Creates an empty database. */
export async function createEmptyDatabase (prefix = 'md_target'): Promise<string> {
  const name = uniqueName(prefix)
  await withAdmin(async (admin) => { await admin.query(await createDatabaseStatement(admin, name)) })
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
