import { ConfigError } from '../errors/config-error.js'
import { prismaHandler } from '../handlers/prisma/index.js'
import { CONTROL_MIGRATIONS_DIR } from '../store/control-schema.js'

/** PostgreSQL's insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = '42501'

/**
 * Brings the control database up to date. Safe to run from every process at start:
 * Prisma's advisory lock serializes them and applied migrations are skipped. A role that may
 * not change the schema (ops/control-db-role.sql) starts fine on an up-to-date database; with
 * migrations pending it fails with a `ConfigError` saying to run `migration-deployer migrate`
 * as the schema's owner first.
 */
export async function migrateControlDatabase (databaseUrl: string): Promise<number> {
  const source = await prismaHandler.readSource(CONTROL_MIGRATIONS_DIR)
  const target = await prismaHandler.lock(databaseUrl, { waitMs: 60_000 })
  try {
    const status = await target.status(source)
    try {
      const applied = await target.apply(status.pending, { lockTimeoutMs: 0, statementTimeoutMs: 0 })
      return applied.length
    } catch (error) {
      const { code, sqlState, message } = error as { code?: string, sqlState?: string, message?: string }
      if (code !== INSUFFICIENT_PRIVILEGE && sqlState !== INSUFFICIENT_PRIVILEGE) throw error
      const problem = `the control database has ${status.pending.length} migration(s) to apply, but DATABASE_URL's role may not change its schema (${message ?? ''})`
      throw new ConfigError(`${problem}: run \`migration-deployer migrate\` with the schema owner's DATABASE_URL first (README, Operations)`, [problem])
    }
  } finally {
    await target.release()
  }
}
