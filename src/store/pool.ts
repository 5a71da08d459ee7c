import pg from 'pg'
import { maskSecrets, registerUrlSecret } from '../lib/mask-secrets.js'
import { connectControlClient, ControlClient, type ControlClientConfig } from './control-client.js'
import { parseControlHosts, type ControlHosts } from './control-hosts.js'

// Return timestamptz as Date (pg's default) and bigint ids as numbers: event ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

type CheckoutCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: boolean | Error) => void) => void

/**
 * The control database's pool. With a host list in `DATABASE_URL` its clients are `ControlClient`s
 * (host selection and libpq's `target_session_attrs` check), and a checkout that failed on one
 * host is tried on the next listed ones before it fails: after a failover the first request finds
 * the new primary. A dead connection is dropped (pg-pool removes a client that errors) and
 * replaced on the next checkout, so the service recovers without a restart.
 */
export class ControlPool extends pg.Pool {
  private readonly hosts: ControlHosts | undefined

  constructor (options: pg.PoolConfig & ControlClientConfig) {
    super({ ...options, Client: ControlClient as unknown as NonNullable<pg.PoolConfig['Client']> })
    this.hosts = options.controlHosts
  }

  override connect (): Promise<pg.PoolClient>
  override connect (callback: CheckoutCallback): void
  override connect (callback?: CheckoutCallback): Promise<pg.PoolClient> | undefined {
    const connecting = this.checkOut()
    if (callback === undefined) return connecting
    connecting.then((client) => { callback(undefined, client, client.release) }, (error: Error) => { callback(error, undefined, () => {}) })
    return undefined
  }

  private async checkOut (): Promise<pg.PoolClient> {
    const hosts = this.hosts
    for (let attempt = 1; ; attempt++) {
      const tried = hosts?.current()
      try {
        return await super.connect()
      } catch (error) {
        // Only when that host was just passed over (not a full pool's timeout): at most each host once.
        if (hosts === undefined || attempt >= hosts.urls.length || hosts.current() === tried) throw error
      }
    }
  }
}

/** A pool on the control database. Idle-client errors are logged, masked, instead of crashing the process. */
export function createControlPool (databaseUrl: string, options: { max?: number, onError?: (message: string) => void } = {}): ControlPool {
  registerUrlSecret(databaseUrl)
  const controlHosts = parseControlHosts(databaseUrl)
  const pool = new ControlPool({
    connectionString: controlHosts?.urls[0] ?? databaseUrl,
    ...(controlHosts === undefined ? {} : { controlHosts }),
    max: options.max ?? 10,
    application_name: 'migration-deployer control',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A primary that vanished without closing its sockets (a failover in another zone) is noticed.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000
  })
  pool.on('error', (error) => options.onError?.(maskSecrets(error.message)))
  // pg-pool listens for errors only on idle clients: one checked out (a transaction in progress)
  // whose server goes away would throw from the process. Its next query fails instead, and its
  // release drops it from the pool.
  pool.on('connect', (client) => { client.on('error', () => {}) })
  return pool
}

/**
 * A connected client outside the pool (LISTEN, session-level advisory locks), with the pool's
 * settings and host selection.
 */
export async function connectOutsidePool (pool: pg.Pool, applicationName: string): Promise<pg.Client> {
  return await connectControlClient({ ...(pool.options as ControlClientConfig), application_name: applicationName, connectionTimeoutMillis: 5000 })
}

/**
 * The single-host URL of the control database's current writable host (the one to run the
 * control schema's migrations on): `databaseUrl` itself when it lists one host.
 */
export async function currentControlUrl (pool: ControlPool, databaseUrl: string): Promise<string> {
  const hosts = (pool.options as ControlClientConfig).controlHosts
  if (hosts === undefined) return databaseUrl
  const client = await connectOutsidePool(pool, 'migration-deployer control') as ControlClient
  await client.end().catch(() => {})
  return client.hostUrl ?? databaseUrl
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
