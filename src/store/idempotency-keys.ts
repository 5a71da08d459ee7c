import type { Queryable } from './pool.js'

/** How long a key is remembered (and replayed). */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24

export interface IdempotencyRecord {
  principal: string
  key: string
  request_hash: string
  deployment_id: string
  created_at: Date
}

/** The live (younger than 24 h) record of a key for a token name, if any. */
export async function findIdempotencyKey (db: Queryable, principal: string, key: string): Promise<IdempotencyRecord | undefined> {
  const { rows } = await db.query<IdempotencyRecord>(
    `SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2 AND created_at > now() - make_interval(hours => $3)`,
    [principal, key, IDEMPOTENCY_KEY_TTL_HOURS]
  )
  return rows[0]
}

/**
 * Records a key for the deployment just created, in the same transaction as its insert. A
 * concurrent request with the same key fails here with a unique violation (and its deployment
 * rolls back); an expired record of the same key is replaced.
 */
export async function insertIdempotencyKey (db: Queryable, record: Omit<IdempotencyRecord, 'created_at'>): Promise<void> {
  await db.query(
    `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND created_at <= now() - make_interval(hours => $3)`,
    [record.principal, record.key, IDEMPOTENCY_KEY_TTL_HOURS]
  )
  await db.query(
    'INSERT INTO idempotency_keys (principal, key, request_hash, deployment_id) VALUES ($1, $2, $3, $4)',
    [record.principal, record.key, record.request_hash, record.deployment_id]
  )
}

/** Deletes keys older than 24 hours (the worker's periodic maintenance). */
export async function deleteExpiredIdempotencyKeys (db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(hours => $1)', [IDEMPOTENCY_KEY_TTL_HOURS])
  return rowCount ?? 0
}
