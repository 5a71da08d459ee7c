import { fileURLToPath } from 'node:url'
import { prismaHandler } from '../handlers/prisma/index.js'

/** The control database's own migrations, in Prisma's layout: the service dogfoods its engine. */
export const CONTROL_MIGRATIONS_DIR = fileURLToPath(new URL('../../src/store/migrations', import.meta.url))

/**
 * Brings the control database up to date. Safe to run from every process at start:
 * Prisma's advisory lock serializes them and applied migrations are skipped.
 */
export async function migrateControlDatabase (databaseUrl: string): Promise<number> {
  const source = await prismaHandler.readSource(CONTROL_MIGRATIONS_DIR)
  const target = await prismaHandler.lock(databaseUrl, { waitMs: 60_000 })
  try {
    const status = await target.status(source)
    const applied = await target.apply(status.pending, { lockTimeoutMs: 0, statementTimeoutMs: 0 })
    return applied.length
  } finally {
    await target.release()
  }
}
