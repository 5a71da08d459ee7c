import type pg from 'pg'
import { LockTimeoutError } from '../../errors/index.js'
import { connectTarget } from '../../lib/target-connection.js'
import { describeLockHolders } from './lock-holders.js'

const QUERY_CANCELED = '57014'

/**
 * The advisory lock key of the `sql` and `command` handlers: `pg_advisory_lock(1835296112)`,
 * the ASCII bytes of "mdep" read as a 32-bit integer. One key for both, so two deployments to
 * the same database never apply at once whichever of the two tools they use. The Prisma handler
 * takes Prisma's own key instead (so `prisma migrate deploy` waits for it, and it for Prisma);
 * the command handler must not take Prisma's key, or a `prisma migrate deploy` it runs would wait
 * for its own parent forever.
 */
export const MIGRATION_DEPLOYER_LOCK_KEY = 1835296112

/** An advisory lock held on its own connection until `release`. */
export interface HeldAdvisoryLock {
  /** How long acquiring the lock took. */
  readonly waitMs: number
  release: () => Promise<void>
}

/**
 * Takes `pg_advisory_lock(key)` on a dedicated connection that never opens a transaction, so the
 * lock outlives any failed migration and dies with the process if the worker is killed. Waits at
 * most `waitMs`; a timeout is a `LockTimeoutError` naming the sessions that hold it.
 */
export async function takeAdvisoryLock (databaseUrl: string, key: number, waitMs: number): Promise<HeldAdvisoryLock> {
  const lockClient = await connectTarget(databaseUrl, { applicationName: 'migration-deployer lock' })
  try {
    const waited = await waitForLock(lockClient, key, waitMs)
    return {
      waitMs: waited,
      release: async () => {
        // Ending the session releases the advisory lock even if the unlock query fails.
        await lockClient.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {})
        await lockClient.end().catch(() => {})
      }
    }
  } catch (error) {
    await lockClient.end().catch(() => {})
    throw error
  }
}

async function waitForLock (lockClient: pg.Client, key: number, waitMs: number): Promise<number> {
  const started = performance.now()
  await lockClient.query(`SET statement_timeout = ${Math.max(1, Math.trunc(waitMs))}`)
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [key])
  } catch (error) {
    if ((error as { code?: string }).code === QUERY_CANCELED) {
      const holders = await describeLockHolders(lockClient, key)
      throw new LockTimeoutError(`timed out after ${Math.round(waitMs / 1000)}s waiting for the migration lock (pg_advisory_lock(${key})) held by ${holders.text}`, holders.sessions)
    }
    throw error
  } finally {
    await lockClient.query('SET statement_timeout = 0').catch(() => {})
  }
  return performance.now() - started
}
