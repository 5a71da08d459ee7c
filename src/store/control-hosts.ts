/** The libpq `target_session_attrs` values a control database can use: it needs a session that writes. */
export type SessionAttrs = 'any' | 'read-write' | 'primary'

const WRITABLE: readonly string[] = ['any', 'read-write', 'primary']
const READ_ONLY: readonly string[] = ['read-only', 'standby', 'prefer-standby']

/** `postgres://user:password@` · `host:port,host:port` · `/db?query#fragment` */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/i

/**
 * The hosts of the control database's `DATABASE_URL` and which one to try next. A URL may list
 * several (`postgres://u:p@db1:5432,db2:5432/control?target_session_attrs=read-write`) as libpq
 * reads it: node-postgres connects to one host only, so the control database's connections go
 * through `ControlClient`, which takes the host this picks and checks the session like libpq.
 * Unlike libpq, which always starts from the first host, the next connection starts from the
 * host that worked last: after a failover, the dead old primary is not tried first every time.
 */
export class ControlHosts {
  private cursor = 0

  /**
   * @param urls one single-host URL per listed host, in order (what node-postgres parses)
   * @param labels `host:port` of each, for messages (never a credential)
   */
  constructor (readonly urls: readonly string[], readonly labels: readonly string[], readonly attrs: SessionAttrs) {}

  /** The index of the host a new connection should try. */
  current (): number {
    return this.cursor
  }

  /** A connection to host `index` failed or was not acceptable: the next one tries the next host. */
  failed (index: number): void {
    if (this.cursor === index) this.cursor = (index + 1) % this.urls.length
  }

  /** A connection to host `index` was accepted: new connections go there. */
  succeeded (index: number): void {
    this.cursor = index
  }
}

/** Removes `target_session_attrs` from a query string (node-postgres does not know it), returning both. */
function takeSessionAttrs (rest: string): { rest: string, attrs: string | undefined } {
  const queryStart = rest.indexOf('?')
  if (queryStart === -1) return { rest, attrs: undefined }
  const fragmentStart = rest.indexOf('#', queryStart)
  const queryEnd = fragmentStart === -1 ? rest.length : fragmentStart
  let attrs: string | undefined
  const kept = rest.slice(queryStart + 1, queryEnd).split('&').filter((pair) => {
    const [key, value = ''] = pair.split('=')
    if (key !== 'target_session_attrs') return true
    attrs = decodeURIComponent(value)
    return false
  })
  return { rest: rest.slice(0, queryStart) + (kept.length === 0 ? '' : `?${kept.join('&')}`) + rest.slice(queryEnd), attrs }
}

/**
 * Reads the host list and `target_session_attrs` of a control database URL. Returns undefined
 * for a URL with one host and no `target_session_attrs`: node-postgres handles it alone, exactly
 * as before. A `target_session_attrs` that selects read-only sessions is refused: the control
 * database is written to on every request.
 */
export function parseControlHosts (databaseUrl: string): ControlHosts | undefined {
  const parts = URL_PARTS.exec(databaseUrl)
  if (parts === null) return undefined
  const [, scheme = '', userinfo = '', hostList = '', tail = ''] = parts
  const { rest, attrs = 'any' } = takeSessionAttrs(tail)
  const hosts = hostList.split(',')
  if (hosts.length === 1 && attrs === 'any' && rest === tail) return undefined
  if (READ_ONLY.includes(attrs)) {
    throw new Error(`DATABASE_URL: target_session_attrs=${attrs} selects a read-only session, but the control database is written to: use read-write (or primary)`)
  }
  if (!WRITABLE.includes(attrs)) throw new Error(`DATABASE_URL: target_session_attrs must be any, read-write or primary, got "${attrs}"`)
  if (hosts.some((host) => host === '')) throw new Error('DATABASE_URL: an empty host in its host list (write host1:port1,host2:port2)')
  return new ControlHosts(hosts.map((host) => `${scheme}${userinfo}${host}${rest}`), hosts, attrs as SessionAttrs)
}
