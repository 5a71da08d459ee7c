import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { ClientCommand, CliIo } from './command.js'
import { CliError, UsageError } from './errors.js'
import { EXIT } from './exit-codes.js'
import { onePositional, parseCommandArgs, stringOption } from './options.js'
import { scramSha256Verifier } from './scram-verifier.js'

const USAGE = `usage: migration-deployer dev-db create <name> [--var <VARIABLE>]

Creates a database <name> on the project-local PostgreSQL that npm start (scripts/services.sh)
runs, owned by a role of its own (<name>_owner, not a superuser), and prints the line that
exports its URL. Run it from the folder holding .data/ (the clone). Running it again for the
same name prints the same URL.

  --var <VARIABLE>   the variable to export (default <NAME>_DATABASE_URL); use the name your
                     config gives the environment's database_url_env

  eval "$(npx migration-deployer dev-db create myapp_dev --var MYAPP_DEV_DATABASE_URL)"

exit codes: 0 created (or already there), 1 the local PostgreSQL is not running, 2 bad usage`

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,56}$/
const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/

/** The `.data` folders to look in: the current directory's, then the package's (a clone). */
function dataDirectories (cwd: string): string[] {
  const packageData = fileURLToPath(new URL('../../../.data', import.meta.url))
  return [...new Set([path.join(cwd, '.data'), packageData])]
}

function readEnvFile (file: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const at = line.indexOf('=')
    if (at > 0 && !line.startsWith('#')) values[line.slice(0, at)] = line.slice(at + 1)
  }
  return values
}

/** The local server's maintenance URL, from `.data/services.env` (written by scripts/services.sh up). */
function findLocalServer (cwd: string): { dataDir: string, adminUrl: string } {
  for (const dataDir of dataDirectories(cwd)) {
    const file = path.join(dataDir, 'services.env')
    if (!existsSync(file)) continue
    const env = readEnvFile(file)
    const base = env.TEST_ADMIN_DATABASE_URL ?? env.DATABASE_URL
    if (base === undefined) continue
    const url = new URL(base)
    url.pathname = '/postgres'
    return { dataDir, adminUrl: url.toString() }
  }
  throw new CliError(`no project-local PostgreSQL found (no .data/services.env in ${dataDirectories(cwd).join(' or ')}): ` +
    'start it with "npm start" (or "bash scripts/services.sh up") in a clone of migration-deployer, and run this command there', EXIT.failed)
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`

/** Creates the role and database when missing; returns the URL (the stored one when it was made before). */
async function ensureDatabase (adminUrl: string, dataDir: string, name: string): Promise<{ url: string, created: boolean }> {
  const store = path.join(dataDir, 'dev-databases.env')
  const known = existsSync(store) ? readEnvFile(store) : {}
  const role = `${name}_owner`
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
  } catch (error) {
    const reason = (error as Error).message
    throw new CliError(`the project-local PostgreSQL does not answer (${reason}): start it with "npm start" or "bash scripts/services.sh up"`, EXIT.failed)
  }
  try {
    const owner = (await client.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [name])).rows[0]?.owner
    const exists = owner !== undefined
    if (exists && owner !== role) {
      throw new UsageError(`a database ${name} already exists on the local server, owned by ${owner} (not made by dev-db): choose another name`)
    }
    let url = known[name]
    if (url === undefined || !exists) {
      // A password of hex digits: nothing in it needs escaping in a URL or a shell.
      const password = randomBytes(18).toString('hex')
      const verifier = scramSha256Verifier(password)
      const hasRole = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1
      await client.query(`${hasRole ? 'ALTER' : 'CREATE'} ROLE ${quoteIdent(role)} LOGIN PASSWORD '${verifier}'`)
      if (!exists) await client.query(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(role)}`)
      const target = new URL(adminUrl)
      target.username = role
      target.password = password
      target.pathname = `/${name}`
      url = target.toString()
      known[name] = url
      writeFileSync(store, Object.entries(known).map(([key, value]) => `${key}=${value}\n`).join(''), { mode: 0o600 })
    }
    return { url, created: !exists }
  } finally {
    await client.end().catch(() => {})
  }
}

export const devDbCommand: ClientCommand = {
  name: 'dev-db',
  summary: 'create a database on the project-local PostgreSQL and print the URL to export',
  usage: USAGE,
  async run (args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, { var: { type: 'string' } })
    const [action, ...rest] = positionals
    if (action !== 'create') {
      throw new UsageError(action === undefined ? 'missing action: dev-db create <name>' : `unknown action "${action}": dev-db create <name>`)
    }
    const name = onePositional(rest, 'database name')
    if (!DATABASE_NAME.test(name)) {
      throw new UsageError(`database name ${JSON.stringify(name)}: use lowercase letters, digits and _ (at most 57, not starting with a digit)`)
    }
    const variable = stringOption(values, 'var') ?? `${name.toUpperCase()}_DATABASE_URL`
    if (!VARIABLE_NAME.test(variable)) throw new UsageError(`--var ${JSON.stringify(variable)}: expected a variable name like MYAPP_DATABASE_URL`)
    const { dataDir, adminUrl } = findLocalServer(io.cwd)
    const { url, created } = await ensureDatabase(adminUrl, dataDir, name)
    const server = new URL(url)
    io.err(`${created ? 'Created' : 'Already there:'} database ${name} on ${server.host}, owned by ${name}_owner. ` +
      'Export the line below, then (re)start the service with it set:')
    io.out(`export ${variable}='${url}'`)
    return EXIT.ok
  }
}
