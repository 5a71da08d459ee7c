import pg from 'pg'
import type { ControlHosts } from './control-hosts.js'

/** Client options of the control database: pg's, plus the host list when `DATABASE_URL` has one. */
export interface ControlClientConfig extends pg.ClientConfig {
  controlHosts?: ControlHosts
}

/**
 * libpq's messages when a host's session does not have the `target_session_attrs` asked for;
 * `isConnectionError` knows them (the control database is then unavailable: a 503, a retried job).
 */
export const SESSION_REJECTED = { readOnly: 'session is read-only', standby: 'server is in hot standby mode' } as const

/**
 * A connection to the control database. With a host list it connects to the host `ControlHosts`
 * picks, then checks the session as libpq does for `target_session_attrs` (read-write: `SHOW
 * transaction_read_only` is off; primary: not in recovery). A host that refuses or does not
 * qualify is passed over: the next connection tries the next host. Without a host list it is
 * node-postgres's own Client. The pool builds these (its `Client` option); a client serves one
 * connection attempt, so retrying on the next host means a new client (`connectControlClient`).
 */
export class ControlClient extends pg.Client {
  /** The single-host URL this client connects to, when `DATABASE_URL` lists hosts. */
  readonly hostUrl: string | undefined
  private readonly hosts: ControlHosts | undefined
  private readonly hostIndex: number

  constructor (config: ControlClientConfig) {
    const hosts = config.controlHosts
    const index = hosts?.current() ?? 0
    super(hosts === undefined ? config : { ...config, connectionString: hosts.urls[index] })
    this.hosts = hosts
    this.hostIndex = index
    this.hostUrl = hosts?.urls[index]
  }

  override connect (): Promise<pg.Client>
  override connect (callback: ((error: Error) => void) | ((error: null, client: pg.Client) => void)): void
  override connect (callback?: ((error: Error) => void) | ((error: null, client: pg.Client) => void)): Promise<pg.Client> | undefined {
    const connecting = this.connectAndCheck().then(() => this)
    if (callback === undefined) return connecting
    // As pg does: (null, client) on success, (error) on failure.
    const done = callback as (error: Error | null, client?: pg.Client) => void
    connecting.then((client) => { done(null, client) }, (error: Error) => { done(error) })
    return undefined
  }

  private async connectAndCheck (): Promise<void> {
    const hosts = this.hosts
    if (hosts === undefined) {
      await super.connect()
      return
    }
    try {
      await super.connect()
    } catch (error) {
      hosts.failed(this.hostIndex)
      throw error
    }
    const rejected = hosts.attrs === 'any' ? undefined : await this.sessionRejected(hosts.attrs)
    if (rejected !== undefined) {
      hosts.failed(this.hostIndex)
      await this.end().catch(() => {})
      throw Object.assign(new Error(`${rejected} (${hosts.labels[this.hostIndex] ?? '?'}; target_session_attrs=${hosts.attrs})`), { code: 'ESESSIONREJECTED' })
    }
    hosts.succeeded(this.hostIndex)
  }

  private async sessionRejected (attrs: 'read-write' | 'primary'): Promise<string | undefined> {
    try {
      if (attrs === 'primary') {
        const { rows } = await this.query<{ standby: boolean }>('SELECT pg_catalog.pg_is_in_recovery() AS standby')
        return rows[0]?.standby === false ? undefined : SESSION_REJECTED.standby
      }
      const { rows } = await this.query<{ transaction_read_only: string }>('SHOW transaction_read_only')
      return rows[0]?.transaction_read_only === 'off' ? undefined : SESSION_REJECTED.readOnly
    } catch (error) {
      this.hosts?.failed(this.hostIndex)
      await this.end().catch(() => {})
      throw error
    }
  }
}

/**
 * A connected client outside the pool (LISTEN, session-level advisory locks), trying each listed
 * host at most once, in `ControlHosts` order, as libpq does for one connection.
 */
export async function connectControlClient (config: ControlClientConfig): Promise<ControlClient> {
  const attempts = config.controlHosts?.urls.length ?? 1
  for (let attempt = 1; ; attempt++) {
    const client = new ControlClient(config)
    // A session whose server goes away emits 'error'; its next query fails and is handled there.
    client.on('error', () => {})
    try {
      await client.connect()
      return client
    } catch (error) {
      await client.end().catch(() => {})
      if (attempt >= attempts) throw error
    }
  }
}
