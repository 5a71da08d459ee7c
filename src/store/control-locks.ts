import pg from 'pg'
import { maskSecrets } from '../lib/mask-secrets.js'
import { connectOutsidePool, type Queryable } from './pool.js'

/**
 * Advisory-lock namespaces on the control database (the first key of the two-key form; the
 * second is `hashtext` of a name). The two-key form never meets Prisma's one-bigint key, even
 * when the control database is also a target. A hash collision only makes two names wait for
 * each other, never lets two holders in at once.
 */
export const LOCK_NAMESPACES = {
  /** Held by the worker running a deployment's job: one runner per deployment, however many copies of its job exist. */
  deploymentLease: 5_170_001,
  /** Held while a deployment applies (or plans and applies) to an environment: one at a time per environment. */
  environmentGuard: 5_170_002,
  /** Held (transaction-scoped) by the reconciler pass: one pass at a time across all workers. */
  reconciler: 5_170_003,
  /** Held (transaction-scoped) while taking an apply ticket: tickets become visible in the order they are taken. */
  applyTicket: 5_170_004,
  /** Held (transaction-scoped) while recording a requester's new deployments: its queued work is counted one request at a time. */
  queuedWork: 5_170_017
} as const

/**
 * A dedicated control-database connection outside the pool, for session-level advisory locks:
 * they are released when it closes, and by PostgreSQL when the process dies with it.
 */
export async function openControlSession (pool: pg.Pool, applicationName: string): Promise<pg.Client> {
  try {
    // The pool's settings and host selection (a DATABASE_URL listing several hosts); errors on it are ignored, its queries fail.
    return await connectOutsidePool(pool, applicationName)
  } catch (error) {
    throw Object.assign(new Error(maskSecrets((error as Error).message), { cause: error }), { code: (error as { code?: string }).code })
  }
}

/** `pg_try_advisory_lock(namespace, hashtext(name))`: true when this session now holds it. */
export async function tryAdvisoryLock (db: Queryable, namespace: number, name: string): Promise<boolean> {
  const { rows } = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [namespace, name])
  return rows[0]?.locked === true
}

/** The transaction-scoped form, released at COMMIT or ROLLBACK. */
export async function tryTransactionLock (db: Queryable, namespace: number, name: string): Promise<boolean> {
  const { rows } = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked', [namespace, name])
  return rows[0]?.locked === true
}
