import type { FastifyRequest } from 'fastify'
import type pg from 'pg'
import { BadRequestError, ConflictError } from '../errors/index.js'
import { sha256Hex } from '../lib/checksum.js'
import type { DeploymentRow } from '../domain/index.js'
import { findIdempotencyKey, IDEMPOTENCY_KEY_TTL_HOURS, insertIdempotencyKey } from '../store/idempotency-keys.js'

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'

const UNIQUE_VIOLATION = '23505'

/** The request's Idempotency-Key, if it sent one; 400 for a malformed one. */
export function idempotencyKeyOf (request: FastifyRequest): string | undefined {
  const value = request.headers[IDEMPOTENCY_KEY_HEADER]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(value) || value.trim() === '') {
    throw new BadRequestError('Idempotency-Key must be one header of 1 to 255 printable ASCII characters, e.g. a UUID', undefined, 'INVALID_IDEMPOTENCY_KEY')
  }
  return value
}

/** JSON with object keys sorted at every level, so equal bodies hash equally whatever their key order. */
function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** The hash a key is bound to: the validated body (defaults applied, envelope unwrapped). */
export function requestHash (body: unknown): string {
  return sha256Hex(canonicalJson(body))
}

function reusedKey (key: string, principal: string, deploymentId: string): ConflictError {
  return new ConflictError(
    `Idempotency-Key "${key}" was already used by ${principal} in the last ${IDEMPOTENCY_KEY_TTL_HOURS} hours for a different request (deployment ${deploymentId}); send the same body to get that deployment, or use a new key for a new request`,
    { deployment_id: deploymentId },
    'IDEMPOTENCY_KEY_REUSED'
  )
}

/**
 * Creates at most one deployment per (token name, key) within 24 hours. Returns the id of the
 * deployment an earlier request with the same key and body created (a replay), or the new row.
 * The key is written in the deployment's own transaction, so a crash or a concurrent duplicate
 * never leaves a deployment without its key or a key without its deployment.
 */
export async function createOnce (
  pool: pg.Pool,
  principal: string,
  key: string,
  body: unknown,
  create: (inTransaction: (db: pg.PoolClient, row: DeploymentRow) => Promise<void>) => Promise<DeploymentRow>
): Promise<{ replayOf: string } | { created: DeploymentRow }> {
  const hash = requestHash(body)
  const replay = async (): Promise<{ replayOf: string } | undefined> => {
    const existing = await findIdempotencyKey(pool, principal, key)
    if (existing === undefined) return undefined
    if (existing.request_hash !== hash) throw reusedKey(key, principal, existing.deployment_id)
    return { replayOf: existing.deployment_id }
  }
  const earlier = await replay()
  if (earlier !== undefined) return earlier
  try {
    return {
      created: await create(async (db, row) => {
        await insertIdempotencyKey(db, { principal, key, request_hash: hash, deployment_id: row.id })
      })
    }
  } catch (error) {
    // A concurrent request with the same key won the race: answer as its replay (or conflict).
    if ((error as { code?: string }).code === UNIQUE_VIOLATION && (error as { table?: string }).table === 'idempotency_keys') {
      const winner = await replay()
      if (winner !== undefined) return winner
    }
    throw error
  }
}
