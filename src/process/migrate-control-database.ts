import { prismaHandler } from '../handlers/prisma/index.js'
import { CONTROL_MIGRATIONS_DIR } from '../store/control-schema.js'

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
