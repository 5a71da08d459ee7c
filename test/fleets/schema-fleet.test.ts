import t from 'tap'
import { startHarness, type Harness } from '../helpers/harness.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { appliedIn, migration } from '../helpers/tenant-databases.js'

// A schema-per-tenant fleet (SPEC §14 with Prisma's ?schema=): 50 schemas in one database, each
// with its own _prisma_migrations, as `prisma migrate deploy` with `?schema=<tenant>` would leave
// them; `public` untouched.
const M1 = migration('20250101000000_init', 'CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);\n')
const M2 = migration('20250102000000_email', 'ALTER TABLE accounts ADD COLUMN email text;\n')
const SCHEMAS = Array.from({ length: 50 }, (_, i) => `tenant_${String(i).padStart(3, '0')}`)

let database: string
let h: Harness

t.before(async () => {
  database = await createEmptyDatabase('md_schemas')
  await queryDatabase(database, 'CREATE TABLE tenants (slug text PRIMARY KEY)')
  await queryDatabase(database, 'INSERT INTO tenants SELECT unnest($1::text[])', [SCHEMAS])
  await queryDatabase(database, SCHEMAS.map((s) => `CREATE SCHEMA "${s}";`).join('\n'))
  h = await startHarness({
    environments: {
      tenants: {
        database_url_env: undefined,
        targets: { catalog_url_env: 'SCHEMA_CATALOG_URL', names_query: 'SELECT slug FROM public.tenants', url_template_env: 'SCHEMA_TENANT_URL' },
        rollout: { canary: 1, batch_size: 25, concurrency: 4 },
        health_check: { checks: ['connectivity'], timeout: '5s' }
      }
    },
    env: { SCHEMA_CATALOG_URL: databaseUrl(database), SCHEMA_TENANT_URL: `${databaseUrl(database)}?schema={name}` }
  })
})

t.teardown(async () => {
  await h?.close()
  if (database !== undefined) await dropDatabase(database)
})

t.test('50 schemas in one database: each gets its own history, public stays untouched', async (t) => {
  const created = await h.request('POST', '/deployments', { body: { environment: 'tenants', migrations: [M1, M2].map(({ name, sql }) => ({ name, sql })) } })
  t.equal(created.statusCode, 202, created.body)
  const done = await h.waitFor(created.json().id as string, ['succeeded', 'failed'], 180_000)
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.same(done.summary, { total: 50, succeeded: 50, failed: 0, skipped: 0, running: 0, pending: 0 })
  const histories = await Promise.all(SCHEMAS.map(async (schema) => await appliedIn(database, schema)))
  t.ok(histories.every((names) => names.join() === `${M1.name},${M2.name}`), 'every schema has both migrations in its own _prisma_migrations')
  const columns = await queryDatabase<{ n: number }>(database,
    "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email' AND table_schema LIKE 'tenant_%'")
  t.equal(columns[0]?.n, 50, 'the tables are in the tenants\' schemas')
  const publicTables = await queryDatabase<{ table_name: string }>(database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
  t.same(publicTables.map((r) => r.table_name), ['tenants'], 'public holds no _prisma_migrations and no tenant table')
})
