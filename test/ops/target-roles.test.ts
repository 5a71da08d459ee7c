import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { createEmptyDatabase, dropDatabase } from '../helpers/databases.js'
import { PROJECT_ROOT } from '../helpers/harness.js'
import { startOwnPostgres } from '../reliability/helpers/own-postgres.js'

/**
 * Issue 17, finding 1a: the example setups gave dev, staging and production one superuser on
 * one server, so a migration sent to staging could reach production. Now each target database
 * has an owner role of its own that can do nothing beyond it: checked on the embedded default
 * (scripts/services.sh) and on docker-compose.yml's target-db init script.
 */

const run = promisify(execFile)

async function connect (url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  return client
}

async function refusedConnection (t: Test, url: string, what: string): Promise<void> {
  let client: pg.Client | undefined
  try {
    client = await connect(url)
  } catch (error) {
    t.match((error as Error).message, /pg_hba\.conf rejects connection|permission denied for database/, what)
    return
  }
  await client.end()
  t.fail(`${what}: it connected`)
}

/** What a role may do on its own database, as a migration running as it could. */
async function assertConfinedOwner (t: Test, client: pg.Client, database: string): Promise<void> {
  interface RoleRow {
    name: string, rolsuper: boolean, rolcreaterole: boolean, rolcreatedb: boolean, rolbypassrls: boolean, owner: boolean, programs: boolean, files: boolean
  }
  const { rows: [role] } = await client.query<RoleRow>(`
    SELECT current_user AS name, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
           (SELECT datdba = r.oid FROM pg_database WHERE datname = current_database()) AS owner,
           pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') AS programs,
           pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') OR pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') AS files
      FROM pg_roles r WHERE r.rolname = current_user`)
  t.equal(role?.name, database, `${database}: its URL names its own role`)
  const confined = {
    name: undefined, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, owner: true, programs: false, files: false
  }
  t.same({ ...role, name: undefined }, confined,
    `${database}: owns its database; no SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS, server programs or files`)
  // Each probe in a transaction rolled back, so that against a role that can (a superuser) nothing stays.
  await client.query('BEGIN')
  try {
    await client.query('CREATE TABLE md_owner_probe (id int)')
    for (const [sql, error] of [
      ["COPY (SELECT 1) TO PROGRAM 'true'", /must be superuser or have privileges of the pg_execute_server_program role/],
      ["SELECT lo_import('/etc/hostname')", /permission denied for function lo_import/],
      ['CREATE ROLE md_probe_role', /permission denied to create role/]
    ] as const) {
      await client.query('SAVEPOINT probe')
      await t.rejects(client.query(sql), error, `${database}: ${sql.split(' ').slice(0, 3).join(' ')} … is refused by the server`)
      await client.query('ROLLBACK TO SAVEPOINT probe')
    }
  } finally {
    await client.query('ROLLBACK')
  }
}

const embedded = ['DEV_DATABASE_URL', 'STAGING_DATABASE_URL', 'PROD_DATABASE_URL'].map((name) => process.env[name])
const notEmbedded = embedded.every((url) => url !== undefined && /^\/deployer_(dev|staging|production)$/.test(new URL(url).pathname))
  ? false
  : 'the embedded default\'s URLs (scripts/services.sh, .data/services.env) are not set'

t.test('the embedded default: one owner role per target database, reaching nothing else', { skip: notEmbedded }, async (t) => {
  const urls = embedded as string[]
  const later = await createEmptyDatabase('md_later')
  t.teardown(async () => { await dropDatabase(later) })
  for (const url of urls) {
    const database = new URL(url).pathname.slice(1)
    const client = await connect(url)
    try {
      await assertConfinedOwner(t, client, database)
    } finally {
      await client.end()
    }
    // Nor may it connect anywhere else on the server, including databases created after it.
    const others = ['deployer_dev', 'deployer_staging', 'deployer_production', 'deployer_control', 'postgres', 'template1', later]
      .filter((name) => name !== database)
    for (const other of others) {
      const elsewhere = new URL(url)
      elsewhere.pathname = `/${other}`
      await refusedConnection(t, elsewhere.toString(), `${database}'s role cannot connect to ${other}`)
    }
  }
})

t.test('docker-compose.yml: target-db creates the same layout, and each deployer URL names its own role', async (t) => {
  type Compose = { services: Record<string, { environment?: Record<string, string> }> }
  const compose = parseYaml(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose
  const targetEnv = compose.services['target-db']?.environment ?? {}
  const deployerEnv = compose.services['worker-1']?.environment ?? {}
  const expected = {
    DEV_DATABASE_URL: ['app_dev', 'APP_DEV_PASSWORD'],
    STAGING_DATABASE_URL: ['app_staging', 'APP_STAGING_PASSWORD'],
    PROD_DATABASE_URL: ['app_production', 'APP_PRODUCTION_PASSWORD']
  }
  for (const [variable, [role, passwordVariable]] of Object.entries(expected) as Array<[string, [string, string]]>) {
    const url = new URL(deployerEnv[variable] as string)
    t.equal(url.username, role, `${variable} connects as ${role}`)
    t.equal(url.pathname, `/${role}`, `${variable} to database ${role}`)
    t.equal(decodeURIComponent(url.password), targetEnv[passwordVariable], `${variable}'s password is target-db's ${passwordVariable}`)
    t.not(url.username, targetEnv.POSTGRES_USER, `${variable} is not target-db's superuser`)
  }

  // The init script, run as the image runs it (psql as the superuser, passwords from the environment), on a server of its own.
  const server = await startOwnPostgres()
  t.teardown(server.close)
  const env = { ...process.env, APP_DEV_PASSWORD: 'dev-pw', APP_STAGING_PASSWORD: 'staging-pw', APP_PRODUCTION_PASSWORD: 'production-pw' }
  const script = path.join(PROJECT_ROOT, 'docker/target-db/create-databases.sql')
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', server.url('postgres'), '-f', script], { env })
  for (const role of ['app_dev', 'app_staging', 'app_production']) {
    const client = await connect(server.url(role).replace('postgres@', `${role}@`))
    try {
      await assertConfinedOwner(t, client, role)
    } finally {
      await client.end()
    }
    for (const other of ['app_dev', 'app_staging', 'app_production', 'postgres'].filter((name) => name !== role)) {
      await refusedConnection(t, server.url(other).replace('postgres@', `${role}@`), `${role} cannot connect to ${other}`)
    }
  }
  // A missing password stops the initialisation rather than creating a role without one.
  const bare = { ...process.env }
  delete bare.APP_DEV_PASSWORD
  await server.createDatabase('again')
  await t.rejects(run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', server.url('again'), '-f', script], { env: bare }), /syntax error at or near ":"/,
    'without APP_DEV_PASSWORD the script fails at the first role')
})
