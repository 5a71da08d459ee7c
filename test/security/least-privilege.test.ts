import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import { ConfigError } from '../../src/errors/config-error.js'
import { startNotifications } from '../../src/notifications/index.js'
import { pruneNotificationOutbox } from '../../src/store/notifications.js'
import { migrateControlDatabase } from '../../src/process/migrate-control-database.js'
import { runCli } from '../helpers/cli.js'
import { adminUrl, createEmptyDatabase, databaseUrl, dropDatabase } from '../helpers/databases.js'
import { PROJECT_ROOT, startHarness, type Harness } from '../helpers/harness.js'
import { until } from '../helpers/until.js'

// The service connected to its control database as the role ops/control-db-role.sql creates,
// set up exactly as the README says: `migration-deployer migrate` as the owner, then the SQL file.

const run = promisify(execFile)
const ROLE = `md_app_${randomBytes(4).toString('hex')}`
const PASSWORD = randomBytes(12).toString('hex')

/** A URL to `database` as `user` (the admin's password when no other is given). */
function urlAs (database: string, user?: string, password?: string): string {
  const url = new URL(databaseUrl(database))
  if (user !== undefined) url.username = user
  if (password !== undefined) url.password = password
  return url.toString()
}

async function withAdmin (fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() })
  await client.connect()
  try { await fn(client) } finally { await client.end() }
}

/** The SQLSTATE a statement fails with as the app role, or 'ok'. */
async function sqlStateOf (client: pg.Client, sql: string): Promise<string> {
  await client.query('BEGIN')
  try {
    await client.query(sql)
    return 'ok'
  } catch (error) {
    return (error as { code?: string }).code ?? String(error)
  } finally {
    await client.query('ROLLBACK')
  }
}

const control = await createEmptyDatabase('md_least_control')
const empty = await createEmptyDatabase('md_least_empty')
t.teardown(async () => {
  await dropDatabase(control)
  await dropDatabase(empty)
  await withAdmin(async (admin) => { await admin.query(`DROP ROLE IF EXISTS "${ROLE}"`) })
})

t.test('migrate as the owner, then the role from ops/control-db-role.sql: the privileges it has, and those it has not', async (t) => {
  const migrated = await runCli(['migrate'], { DATABASE_URL: urlAs(control) })
  t.equal(migrated.code, 0, migrated.stderr)
  t.match(migrated.stdout, /up to date: applied \d+ migration\(s\)/)
  const again = await runCli(['migrate'], { DATABASE_URL: urlAs(control) })
  t.equal(again.stdout.trim(), 'the control database is up to date', 'a second run has nothing to do')

  // psql as the README shows, the password in the environment rather than in the arguments.
  const owner = new URL(urlAs(control))
  const password = decodeURIComponent(owner.password)
  owner.password = ''
  const psql = async (): Promise<void> => {
    await run('psql', ['-X', '-q', '-v', `role=${ROLE}`, '-f', path.join(PROJECT_ROOT, 'ops/control-db-role.sql'), owner.toString()], { env: { ...process.env, PGPASSWORD: password } })
  }
  await psql()
  await psql() // idempotent
  await withAdmin(async (admin) => { await admin.query(`ALTER ROLE "${ROLE}" PASSWORD '${PASSWORD}'`) })

  const client = new pg.Client({ connectionString: urlAs(control, ROLE, PASSWORD) })
  await client.connect()
  t.teardown(async () => { await client.end() })
  const { rows: tables } = await client.query<{ name: string, select: boolean }>(
    `SELECT tablename AS name, has_table_privilege(current_user, format('%I', tablename), 'SELECT') AS select FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
  t.same(tables.filter((table) => !table.select).map((table) => table.name), [], 'every control table is granted (a new one must be added to ops/control-db-role.sql)')
  const { rows: [audit] } = await client.query<{ privileges: string[] }>(
    `SELECT array_agg(p ORDER BY p) AS privileges FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p
      WHERE has_table_privilege(current_user, 'deployment_events', p)`)
  t.same(audit?.privileges, ['INSERT', 'SELECT'], 'the audit table: INSERT and SELECT only')

  t.equal(await sqlStateOf(client, 'UPDATE deployment_events SET message = \'rewritten\''), '42501', 'UPDATE on the audit table is refused')
  t.equal(await sqlStateOf(client, 'DELETE FROM deployment_events'), '42501', 'DELETE is refused')
  t.equal(await sqlStateOf(client, 'TRUNCATE deployment_events'), '42501', 'TRUNCATE is refused')
  t.equal(await sqlStateOf(client, 'DROP TRIGGER deployment_events_no_update_or_delete ON deployment_events'), '42501', 'its trigger cannot be dropped')
  t.equal(await sqlStateOf(client, 'DROP TRIGGER deployment_events_no_truncate ON deployment_events'), '42501', 'nor its TRUNCATE trigger')
  t.equal(await sqlStateOf(client, 'ALTER TABLE deployment_events DISABLE TRIGGER ALL'), '42501', 'nor disabled')
  t.equal(await sqlStateOf(client, 'DROP FUNCTION deployment_events_append_only() CASCADE'), '42501', 'nor its function dropped')
  t.equal(await sqlStateOf(client, 'CREATE TABLE sneaky (id int)'), '42501', 'no table can be created')
  t.equal(await sqlStateOf(client, 'DROP TABLE deployments'), '42501', 'none dropped')
})

t.test('the whole flow runs with the service connected as that role', async (t) => {
  const appUrl = urlAs(control, ROLE, PASSWORD)
  const backups = t.testdir({})
  const backedUp = { backup_before_migrate: true, backup: { provider: 'pg_dump', dir: backups, keep: 1 }, on_failure: 'restore_backup' }
  const h: Harness = await startHarness({
    controlDatabaseUrl: appUrl,
    environments: {
      dev: { working_directory: 'app' },
      staging: { working_directory: 'broken-third', ...backedUp },
      production: { working_directory: 'app', protected: true, approval: { required_approvals: 1, roles: ['approver'] }, ...backedUp }
    }
  })
  t.teardown(h.close)
  t.equal((await h.runtime.pool.query<{ user: string }>('SELECT current_user AS user')).rows[0]?.user, ROLE, 'the service is connected as the app role')

  const create = async (environment: string, key?: string): Promise<string> => {
    const created = await h.request('POST', '/deployments', { body: { environment }, headers: key === undefined ? {} : { 'idempotency-key': key } })
    if (created.statusCode !== 202 && created.statusCode !== 200) throw new Error(`${created.statusCode} ${created.body}`)
    return created.json<{ id: string }>().id
  }
  const dev = await create('dev', 'least-privilege-1')
  t.equal(await create('dev', 'least-privilege-1'), dev, 'an idempotent retry answers the same deployment')
  t.equal((await h.waitFor(dev, ['succeeded', 'failed'])).status, 'succeeded', 'dev deployed')
  const staging = await h.waitFor(await create('staging'), ['succeeded', 'failed'])
  t.equal(staging.status, 'failed', 'a failing migration…')
  t.match(staging.report, { result: { rollback_initiated: true } }, '…restored from its backup')

  const rejected = await create('production')
  await h.waitFor(rejected, ['pending_approval'])
  t.equal((await h.request('POST', `/deployments/${rejected}/reject`, { as: 'bob', body: { reason: 'not today' } })).statusCode, 200, 'rejected')
  const cancelled = await create('production')
  await h.waitFor(cancelled, ['pending_approval'])
  t.equal((await h.request('POST', `/deployments/${cancelled}/cancel`)).statusCode, 200, 'cancelled')
  const approved = await create('production')
  t.equal((await h.waitFor(approved, ['pending_approval'])).status, 'pending_approval')
  t.equal((await h.request('POST', `/deployments/${approved}/approve`, { as: 'alice', body: { comment: 'ok' } })).statusCode, 200)
  t.equal((await h.waitFor(approved, ['succeeded', 'failed'])).status, 'succeeded', 'approved, backed up and applied')
  t.equal((await h.request('GET', '/environments/production/status', { as: 'viewer' })).statusCode, 200)
  t.equal((await h.waitFor(await create('staging'), ['succeeded', 'failed'])).status, 'failed', 'staging again: a second backup…')
  t.equal((await h.request('GET', '/environments/staging/backups', { as: 'viewer' })).json<{ backups: unknown[] }>().backups.length, 1, '…and the first pruned (keep: 1)')
  const events = (await h.request('GET', `/deployments/${approved}/events`, { as: 'viewer' })).json<{ events: Array<{ type: string }> }>().events
  t.ok(events.some((event) => event.type === 'approved'), 'the audit trail records the approval')

  // The outbox as that role: dispatched by the notification service, then pruned.
  const notifications = await startNotifications({
    pool: h.runtime.pool,
    config: h.config,
    logger: h.runtime.logger,
    env: {},
    queueName: h.runtime.settings.queueName,
    connection: redisConnectionOptions(h.runtime.settings.redisUrl)
  })
  t.teardown(notifications.close)
  await until(async () => (await h.runtime.pool.query('SELECT 1 FROM deployment_notifications WHERE dispatched_at IS NULL')).rowCount === 0 ? true : undefined,
    'the outbox to be dispatched', 30_000, 50)
  t.ok(await pruneNotificationOutbox(h.runtime.pool, 0) > 0, 'and pruned')
  t.notOk(h.logLines.some((line) => /permission denied/.test(line)), 'no permission was missing along the way')
})

t.test('a role that may not change the schema, on a database needing migrations: a clear error', async (t) => {
  await t.rejects(migrateControlDatabase(urlAs(empty, ROLE, PASSWORD)), ConfigError)
  await t.rejects(migrateControlDatabase(urlAs(empty, ROLE, PASSWORD)), { message: /may not change its schema .*run `migration-deployer migrate` with the schema owner's DATABASE_URL/ })
})
