import pg from 'pg'
import { maskSecrets, registerUrlSecret } from '../lib/mask-secrets.js'

// Return timestamptz as Date (pg's default) and bigint ids as numbers: event ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

/** A pool on the control database. Idle-client errors are logged, masked, instead of crashing the process. */
export function createControlPool (databaseUrl: string, options: { max?: number, onError?: (message: string) => void } = {}): pg.Pool {
  registerUrlSecret(databaseUrl)
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: 'migration-deployer control',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000
  })
  pool.on('error', (error) => options.onError?.(maskSecrets(error.message)))
  return pool
}

/** Runs `fn` in a transaction on one pooled client; rolls back when it throws. */
export async function withTransaction<T> (pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

export type Queryable = pg.Pool | pg.PoolClient | pg.Client

/** A round trip to the control database: what readiness checks. */
export async function pingControlDatabase (db: Queryable): Promise<void> {
  await db.query('SELECT 1')
}
