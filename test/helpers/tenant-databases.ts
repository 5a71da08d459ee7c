import pg from 'pg'
import { handlerFor } from '../../src/handlers/index.js'
import type { MigrationFile } from '../../src/handlers/types.js'
import { sha256Hex } from '../../src/lib/checksum.js'
import { adminUrl, createDatabaseStatement, createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase, uniqueName } from './databases.js'

/** A migration as the API takes it inline, with its checksum. */
export function migration (name: string, sql: string): MigrationFile {
  return { name, sql, checksum: sha256Hex(Buffer.from(sql, 'utf8')) }
}

/** A URL template for databases on the test server: `postgres://…/{name}`. */
export function tenantUrlTemplate (): string {
  const url = new URL(adminUrl())
  return `${url.protocol}//${url.username === '' ? '' : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`}${url.host}/{name}${url.search}`
}

/** Applies migrations to a database through the Prisma handler (the history a deployment would leave). */
export async function applyWithPrisma (database: string, migrations: MigrationFile[]): Promise<void> {
  const target = await handlerFor({ migration_tool: 'prisma' }).lock(databaseUrl(database), { waitMs: 5000 })
  try {
    await target.apply(migrations, { lockTimeoutMs: 0, statementTimeoutMs: 0 })
  } finally {
    await target.release()
  }
}

/**
 * Tenant databases cloned from templates, created in parallel: one template per history state
 * (a database with those migrations applied through the Prisma handler), then `count` clones of
 * each. Dropped by `drop()`.
 */
export class TenantDatabases {
  readonly names: string[] = []
  private readonly templates: string[] = []

  /** A template with `applied` migrations already applied (an empty database for none). */
  async template (applied: MigrationFile[]): Promise<string> {
    const name = await createEmptyDatabase('md_tpl')
    this.templates.push(name)
    if (applied.length > 0) await applyWithPrisma(name, applied)
    return name
  }

  /** `count` databases cloned from `template`, named `<prefix>_<n>_<random>`, created 4 at a time. */
  async clone (template: string, prefix: string, count: number): Promise<string[]> {
    const names = Array.from({ length: count }, (_, i) => uniqueName(`${prefix}_${String(i).padStart(3, '0')}`))
    const admin = new pg.Pool({ connectionString: adminUrl(), max: 4 })
    try {
      await Promise.all(names.map(async (name) => { await admin.query(await createDatabaseStatement(admin, name, template)) }))
    } finally {
      await admin.end()
    }
    this.names.push(...names)
    return names
  }

  async drop (): Promise<void> {
    const admin = new pg.Pool({ connectionString: adminUrl(), max: 4 })
    try {
      await Promise.all([...this.names, ...this.templates].map(async (name) => { await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) }))
    } finally {
      await admin.end()
    }
  }
}

/** The migration names recorded as applied in a database's `_prisma_migrations` (of `schema`). */
export async function appliedIn (database: string, schema = 'public'): Promise<string[]> {
  const rows = await queryDatabase<{ migration_name: string }>(database,
    `SELECT migration_name FROM "${schema}"._prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`).catch(() => [])
  return rows.map((row) => row.migration_name)
}

export { dropDatabase }
