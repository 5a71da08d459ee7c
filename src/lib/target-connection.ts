import pg from 'pg'
import { TargetUnavailableError } from '../errors/index.js'
import { maskSecrets, registerUrlSecret } from './mask-secrets.js'
import { parseSchemaUrl, searchPathOf } from './schema-url.js'

/** Describes a connection URL without its credentials: `db.example:5432/app`. */
export function describeTarget (databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    return `${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname}`
  } catch {
    return '(unparseable database URL)'
  }
}

/**
 * Opens one connection to a target database. Connection errors are rethrown with the
 * credentials masked, because drivers quote the URL, the user and sometimes the password.
 *
 * A URL with Prisma's `schema` parameter connects without it (node-postgres would take it for a
 * connection option) and then sets the session's search path to that schema, as Prisma does, so
 * the history table and every unqualified name resolve in it. An unusable schema name is a
 * `TargetUrlError` before any connection is attempted.
 */
export async function connectTarget (databaseUrl: string, options: { applicationName?: string, connectTimeoutMs?: number } = {}): Promise<pg.Client> {
  registerUrlSecret(databaseUrl)
  const target = parseSchemaUrl(databaseUrl)
  const searchPath = searchPathOf(target)
  let client: pg.Client
  try {
    client = new pg.Client({
      connectionString: target.connectionUrl,
      application_name: options.applicationName ?? 'migration-deployer',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000
    })
  } catch (error) {
    // pg parses the URL in the constructor; a malformed one (bad port, stray characters) lands here.
    throw new TargetUnavailableError(`the database URL is not a valid connection URL (${maskSecrets((error as Error).message)}): check the variable the environment's database_url_env names`)
  }
  // An idle client whose server goes away emits 'error'; without a listener that crashes the process.
  client.on('error', () => {})
  try {
    await client.connect()
    // A parameter, not SQL text: the quoted name is the setting's value, as Prisma sends it.
    if (searchPath !== null) await client.query("SELECT pg_catalog.set_config('search_path', $1, false)", [searchPath])
  } catch (error) {
    await client.end().catch(() => {})
    throw new TargetUnavailableError(`cannot connect to ${describeTarget(databaseUrl)}: ${maskSecrets((error as Error).message)}`)
  }
  return client
}
