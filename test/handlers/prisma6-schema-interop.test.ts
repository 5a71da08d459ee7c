import path from 'node:path'
import t from 'tap'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { FIXTURES, startHarness } from '../helpers/harness.js'
import { preparePrisma6, prisma6Missing } from '../helpers/prisma6.js'

/**
 * `?schema=` against the reference: the real Prisma Migrate 6.19.3 CLI (../shared/prisma6).
 * A database Prisma deployed with `?schema=` reads correctly here and takes the next migration
 * from the service; one the service deployed with `?schema=` reads "up to date" to
 * `prisma migrate status`. The schema name needs quoting (mixed case, a hyphen, a space).
 */

const SCHEMA = 'Tenant A-1'
const APP = path.join(FIXTURES, 'app', 'prisma', 'migrations')
const APP_NEXT = path.join(FIXTURES, 'app-next', 'prisma', 'migrations')
const APP_TABLES = ['AuditLog', 'Membership', 'Post', 'Team', 'User', '_prisma_migrations']

function withSchema (database: string): string {
  return `${databaseUrl(database)}?schema=${encodeURIComponent(SCHEMA)}`
}

async function tables (database: string, schema: string): Promise<string[]> {
  const rows = await queryDatabase<{ name: string }>(database,
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
  return rows.map((row) => row.name)
}

const missing = prisma6Missing()
const TITLE = '?schema= databases deployed by Prisma read correctly here, and ours read "up to date" to prisma migrate status'
t.test(TITLE, { skip: missing ?? false }, async (t) => {
  const prisma = await preparePrisma6()
  const byPrisma = await createEmptyDatabase('md_p6_prisma')
  const byUs = await createEmptyDatabase('md_p6_ours')
  t.teardown(async () => { await Promise.all([dropDatabase(byPrisma), dropDatabase(byUs)]) })

  // Prisma's deploy (about 10 s of it an engine timer) runs while the service deploys the other database.
  const deploying = prisma.run(['migrate', 'deploy'], { databaseUrl: withSchema(byPrisma), migrationsDir: APP })
  const h = await startHarness({
    env: { PRISMA_DEPLOYED_URL: withSchema(byPrisma), OURS_URL: withSchema(byUs) },
    environments: {
      'by-prisma': { database_url_env: 'PRISMA_DEPLOYED_URL', working_directory: 'app-next' },
      ours: { database_url_env: 'OURS_URL', working_directory: 'app' }
    }
  })
  t.teardown(h.close)
  async function deploy (environment: string): Promise<void> {
    const created = await h.request('POST', '/deployments', { body: { environment } })
    t.equal(created.statusCode, 202, created.body)
    const done = await h.waitFor(created.json().id, ['succeeded', 'failed'], 120_000)
    t.equal(done.status, 'succeeded', `the service deployed ${environment}`) || t.comment(JSON.stringify(done.report))
  }

  await deploy('ours')
  t.same(await tables(byUs, SCHEMA), APP_TABLES, 'the service created the schema and put everything in it')
  t.same(await tables(byUs, 'public'), [], 'and nothing in public')
  const checkingOurs = prisma.run(['migrate', 'status'], { databaseUrl: withSchema(byUs), migrationsDir: APP })

  const deployed = await deploying
  t.equal(deployed.exitCode, 0, 'prisma migrate deploy succeeded') || t.comment(deployed.output)
  t.match(deployed.output, /All migrations have been successfully applied/)
  t.same(await tables(byPrisma, SCHEMA), APP_TABLES, 'Prisma created the schema and put everything in it')
  t.same(await tables(byPrisma, 'public'), [], 'and nothing in public')

  const read = (await h.request('GET', '/environments/by-prisma/status', { as: 'viewer' })).json()
  t.equal(read.schema, SCHEMA)
  t.equal(read.applied.length, 5, 'Prisma\'s five rows read from the schema')
  t.same(read.pending.map((m: { name: string }) => m.name), ['20250124140000_add_user_profiles'], 'exactly the new migration pending')
  t.same([read.failed.length, read.drifted.length], [0, 0], 'checksums agree: no drift')
  await deploy('by-prisma')
  t.same(await tables(byPrisma, 'public'), [], 'nor anything in public of the database Prisma started')

  const [statusByPrisma, statusOurs] = await Promise.all([
    prisma.run(['migrate', 'status'], { databaseUrl: withSchema(byPrisma), migrationsDir: APP_NEXT }),
    checkingOurs
  ])
  t.equal(statusByPrisma.exitCode, 0, 'prisma migrate status exits 0 on the database Prisma started') || t.comment(statusByPrisma.output)
  t.match(statusByPrisma.output, /6 migrations found[\s\S]*Database schema is up to date!/,
    'Prisma\'s database, with our sixth migration: up to date to Prisma')
  t.equal(statusOurs.exitCode, 0, 'prisma migrate status exits 0 on ours') || t.comment(statusOurs.output)
  t.match(statusOurs.output, /5 migrations found[\s\S]*Database schema is up to date!/, 'our database: up to date to Prisma')
  t.match(statusOurs.output, /schema "Tenant A-1"/, 'Prisma read the same schema')
})
