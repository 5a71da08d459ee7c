import pg from 'pg'
import { TargetUnavailableError } from '../errors/index.js'
import { maskSecrets, registerUrlSecret } from './mask-secrets.js'

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
 */
export async function connectTarget (databaseUrl: string, options: { applicationName?: string, connectTimeoutMs?: number } = {}): Promise<pg.Client> {
  registerUrlSecret(databaseUrl)
  let client: pg.Client
  try {
    client = new pg.Client({
      connectionString: databaseUrl,
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
  } catch (error) {
    await client.end().catch(() => {})
    throw new TargetUnavailableError(`cannot connect to ${describeTarget(databaseUrl)}: ${maskSecrets((error as Error).message)}`)
  }
  return client
}
