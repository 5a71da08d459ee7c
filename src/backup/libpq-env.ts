import { registerSecret, registerUrlSecret } from '../lib/mask-secrets.js'
import { describeTarget } from '../lib/target-connection.js'

// libpq's URL query parameters and the environment variables that carry the same setting.
// `sslpassword` has no environment variable, so a URL that needs it cannot be used with the tools.
const QUERY_PARAMETER_ENV: Record<string, string> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  passfile: 'PGPASSFILE',
  options: 'PGOPTIONS',
  application_name: 'PGAPPNAME',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  sslsni: 'PGSSLSNI',
  requiressl: 'PGREQUIRESSL',
  gssencmode: 'PGGSSENCMODE',
  krbsrvname: 'PGKRBSRVNAME',
  channel_binding: 'PGCHANNELBINDING',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  client_encoding: 'PGCLIENTENCODING',
  target_session_attrs: 'PGTARGETSESSIONATTRS'
}

/**
 * The libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …) that
 * connects pg_dump, pg_restore or psql to `databaseUrl`, so no credential ever sits in a
 * process's arguments, where any user of the machine can read it (`ps`).
 * Parameters libpq does not know (Prisma's `schema`, `connection_limit`, …) are ignored.
 * Throws a plain Error naming the target (never the URL) when the URL cannot be parsed.
 */
export function libpqEnvironment (databaseUrl: string, applicationName = 'migration-deployer'): Record<string, string> {
  registerUrlSecret(databaseUrl)
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch {
    throw new Error(`cannot parse the database URL of ${describeTarget(databaseUrl)}`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`expected a postgres:// or postgresql:// URL, got ${url.protocol}//…`)
  }
  const env: Record<string, string> = { PGAPPNAME: applicationName }
  // An IPv6 literal keeps its brackets in URL.hostname; libpq wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host !== '') env.PGHOST = decodeURIComponent(host)
  if (url.port !== '') env.PGPORT = url.port
  if (url.username !== '') env.PGUSER = decodeURIComponent(url.username)
  if (url.password !== '') env.PGPASSWORD = decodeURIComponent(url.password)
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database !== '') env.PGDATABASE = database
  for (const [key, value] of url.searchParams) {
    const variable = QUERY_PARAMETER_ENV[key]
    if (variable === undefined) continue
    // node-postgres accepts `sslmode=no-verify`; libpq calls that `require`.
    env[variable] = key === 'sslmode' && value === 'no-verify' ? 'require' : value
  }
  // A password given as `?password=` is a secret too.
  registerSecret(env.PGPASSWORD)
  return env
}

/**
 * The environment for a child process: this process's own, without any inherited libpq
 * variable (a stray PGHOST, PGPASSWORD or PGSERVICE would silently redirect the tool),
 * plus `extra`.
 */
export function childEnvironment (extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^PG[A-Z_]+$/.test(key)) env[key] = value
  }
  return { ...env, ...extra }
}
