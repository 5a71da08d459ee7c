import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t, { type Test } from 'tap'
import { StatementNotAllowedError } from '../../src/errors/index.js'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { sha256Hex } from '../../src/lib/checksum.js'
import { adminUrl, createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'

/**
 * Issue 17, finding 1: a deployer sent an inline migration to an unprotected environment
 * (staging) that created a superuser and, through `COPY … TO PROGRAM 'psql …'`, changed the
 * production database on the same server without any approval. Three layers stop it, each
 * shown here on its own: (c) the SQL analysis refuses the statements in every environment;
 * (b) a protected environment refuses a superuser target role; (a) the embedded default's
 * target roles cannot do any of it (test/ops/target-roles.test.ts checks their setup).
 */

const PSQL = path.join(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim(), 'psql')
const server = new URL(adminUrl())

interface Attack { migrations: Array<{ name: string, sql: string }>, role: string, table: string }

/** The red team's two migrations: a superuser of the attacker's own, then psql run by the server against production. */
function attack (productionDb: string): Attack {
  const suffix = randomBytes(4).toString('hex')
  const role = `md_attacker_${suffix}`
  const table = `pwned_${suffix}`
  const password = `pw${suffix}`
  const command = `PGPASSWORD=${password} ${PSQL} -h ${server.hostname} -p ${server.port} -U ${role} -d ${productionDb} -c "CREATE TABLE ${table} (id int)"`
  return {
    role,
    table,
    migrations: [
      { name: '20250301000000_add_helper_role', sql: `CREATE ROLE ${role} SUPERUSER LOGIN PASSWORD '${password}';\n` },
      { name: '20250301000100_refresh_cache', sql: `CREATE TABLE cache (id int);\nCOPY (SELECT 1) TO PROGRAM '${command.replaceAll("'", "''")}';\n` }
    ]
  }
}

async function exists (sql: string, values: unknown[], database = 'postgres'): Promise<boolean> {
  return (await queryDatabase<{ found: boolean }>(database, `SELECT EXISTS (${sql}) AS found`, values))[0]?.found === true
}

/** Nothing of the attack happened: no attacker role on the server, no table in production, nothing applied in the target. */
async function assertUntouched (t: Test, a: Attack, productionDb: string, what: string): Promise<void> {
  t.notOk(await exists('SELECT 1 FROM pg_roles WHERE rolname = $1', [a.role]), `${what}: no attacker role on the server`)
  t.notOk(await exists('SELECT 1 FROM pg_tables WHERE tablename = $1', [a.table], productionDb), `${what}: production untouched`)
}

async function dropAttacker (a: Attack): Promise<void> {
  await queryDatabase('postgres', `DROP ROLE IF EXISTS ${a.role}`).catch(() => {})
}

interface Finished {
  id: string
  status: string
  report: { error: string, result: Record<string, unknown>, recovery: { suggestions: string[] } }
  steps: Array<{ name: string, status: string, detail: string | null }>
}

async function deploy (t: Test, h: Harness, environment: string, migrations: Attack['migrations'], extra: Record<string, unknown> = {}): Promise<Finished> {
  const created = await h.request('POST', '/deployments', { body: { environment, migrations, ...extra } })
  t.equal(created.statusCode, 202, `deployment to ${environment} accepted`)
  return await h.waitFor(created.json<{ id: string }>().id, ['succeeded', 'failed', 'pending_approval']) as never
}

t.test('(c) the analysis refuses the escaping statements in an unprotected environment, naming them and their migrations', async (t) => {
  const h = await startHarness()
  const a = attack(h.targets.production as string)
  // Should the attack get through, its role owns a table in production: dropped with the database first.
  t.teardown(async () => { await h.close(); await dropAttacker(a) })

  const done = await deploy(t, h, 'staging', a.migrations)
  t.equal(done.status, 'failed', 'the deployment to staging is refused')
  await assertUntouched(t, a, h.targets.production as string, 'refused at plan')
  const stagingTables = "SELECT 1 FROM pg_tables WHERE tablename IN ('cache', '_prisma_migrations')"
  t.notOk(await exists(stagingTables, [], h.targets.staging as string), 'nothing applied in staging either')
  const error = done.report.error
  t.match(error, /^Refused: statements that reach beyond the staging database/)
  t.match(error, `migration 20250301000000_add_helper_role line 1: CREATE ROLE "${a.role}" SUPERUSER (ROLE SUPERUSER:`,
    'names the role statement and its migration')
  t.match(error, 'migration 20250301000100_refresh_cache line 2: COPY … TO PROGRAM (COPY PROGRAM: runs a program on the database server',
    'and the COPY, with what it could reach')
  t.notOk(error.includes('pw'), 'without quoting the statements\' literals (the password)')
  t.equal(done.report.result.failed_migration, '20250301000000_add_helper_role')
  t.match(done.report.result.refused_statements, [
    { migration: '20250301000000_add_helper_role', category: 'ROLE SUPERUSER' },
    { migration: '20250301000100_refresh_cache', category: 'COPY PROGRAM' }
  ])
  t.match(done.report.recovery.suggestions.join('\n'), 'environments.staging.policy.allow_statements in the config: [ROLE SUPERUSER, COPY PROGRAM]',
    'says how an operator would allow them')
  t.notOk(done.steps.some((s) => s.name === 'deploy'), 'no deploy step ran')

  // The same inside a DO block, a function body and dblink: refused in a protected environment too.
  const hidden = [
    { name: '20250302000000_do', sql: "DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id'''; END $$;\n" },
    { name: '20250302000100_fn', sql: "CREATE FUNCTION backdoor() RETURNS oid LANGUAGE sql AS $$ SELECT lo_import('/etc/passwd') $$;\n" },
    { name: '20250302000200_py', sql: "CREATE FUNCTION shell() RETURNS int LANGUAGE plpython3u AS $$ import os; return os.system('id') $$;\n" },
    { name: '20250302000300_link', sql: "CREATE EXTENSION IF NOT EXISTS dblink;\nSELECT dblink_exec('dbname=deployer_production', 'DROP TABLE users');\n" }
  ]
  const refused = await deploy(t, h, 'production', hidden)
  t.equal(refused.status, 'failed', 'refused before approval is even asked')
  const named = ['COPY … TO PROGRAM in a string run by EXECUTE in a DO block', 'lo_import() in function "backdoor"',
    'CREATE FUNCTION "shell" LANGUAGE plpython3u', 'CREATE EXTENSION dblink', 'dblink_exec()']
  for (const expected of named) {
    t.match(refused.report.error, expected, `names ${expected}`)
  }
})

t.test('(c) an environment that lists a category in policy.allow_statements runs it; the rest stay refused', async (t) => {
  const h = await startHarness({
    environments: {
      dev: { working_directory: 'app', policy: { allow_statements: ['copy file'] } },
      staging: { working_directory: 'app' }
    }
  })
  t.teardown(h.close)
  // COPY to a server file needs a superuser (the harness's targets are): allowed in dev only.
  const file = `/tmp/md-allowed-${randomBytes(4).toString('hex')}.csv`
  const migrations = [{ name: '20250303000000_export', sql: `COPY (SELECT 1) TO '${file}';\n` }]
  const dev = await deploy(t, h, 'dev', migrations)
  t.equal(dev.status, 'succeeded', `allowed in dev (${dev.report.error ?? 'no error'})`)
  const staging = await deploy(t, h, 'staging', migrations)
  t.equal(staging.status, 'failed', 'refused in staging')
  t.match(staging.report.error, 'COPY … TO a server file (COPY FILE:')
  t.teardown(() => { rmSync(file, { force: true }) })
})

t.test('(c) the handler\'s apply refuses them too, whoever calls it: the last gate before the target', async (t) => {
  const db = await createEmptyDatabase('md_escape_apply')
  t.teardown(async () => { await dropDatabase(db) })
  const sql = "CREATE TABLE before_the_copy (id int);\nCOPY (SELECT 1) TO PROGRAM 'true';\n"
  const migrations = [{ name: '20250306000000_copy', sql, checksum: sha256Hex(sql) }]
  const target = await prismaHandler.lock(databaseUrl(db), { waitMs: 5000 })
  try {
    const error = await target.apply(migrations, { lockTimeoutMs: 0, statementTimeoutMs: 0 }).catch((caught: unknown) => caught)
    t.type(error, StatementNotAllowedError, 'refused without allowStatements')
    t.match((error as Error).message, /^Refused, nothing applied: .*migration 20250306000000_copy line 2: COPY … TO PROGRAM/)
    const tables = "SELECT 1 FROM pg_tables WHERE tablename IN ('before_the_copy', '_prisma_migrations')"
    t.notOk(await exists(tables, [], db), 'nothing ran, not even the history table')
    const applied = await target.apply(migrations, { lockTimeoutMs: 0, statementTimeoutMs: 0, allowStatements: ['COPY PROGRAM'] })
    t.same(applied.map((m) => m.name), ['20250306000000_copy'], 'allowed, it runs (the harness\'s superuser may)')
  } finally {
    await target.release()
  }
})

t.test('(b) a protected environment refuses a superuser target role, even with the statements allowed and the health check skipped', async (t) => {
  const allowAll = { allow_statements: ['ROLE SUPERUSER', 'COPY PROGRAM'] }
  const h = await startHarness({
    environments: {
      staging: { working_directory: 'app', protected: true, allow_superuser: false, policy: allowAll },
      production: { working_directory: 'app', protected: true, allow_superuser: false },
      preview: { working_directory: 'app' }
    }
  })
  const a = attack(h.targets.production as string)
  t.teardown(async () => { await h.close(); await dropAttacker(a) })

  for (const extra of [{}, { skip_health_check: true }]) {
    const done = await deploy(t, h, 'staging', a.migrations, extra)
    const what = Object.keys(extra).length === 0 ? 'health check' : 'skip_health_check'
    t.equal(done.status, 'failed', `${what}: refused`)
    t.match(done.report.error, /^Pre-deployment health check failed: staging is protected and the target role "[^"]+" is a superuser: /, `${what}: says why`)
    t.match(done.report.error, /run programs on the database server as its operating-system user \(COPY … PROGRAM\)/,
      `${what}: and what a migration could reach`)
    t.match(done.report.error, /and reach every other database on the server \([a-z0-9_]+, /, `${what}: naming the other databases on the server`)
    t.match(done.report.recovery.suggestions.join('\n'), 'or set allow_superuser: true on environment staging', `${what}: and the fix`)
    t.equal(done.report.result.health_check, 'failed')
    await assertUntouched(t, a, h.targets.production as string, what)
  }

  // An unprotected environment on the same role: a warning the reviewer and the log see, not a refusal.
  const preview = await deploy(t, h, 'preview', [{ name: '20250304000000_ok', sql: 'CREATE TABLE ok (id int);\n' }], { dry_run: true })
  t.equal(preview.status, 'succeeded')
  const step = preview.steps.find((s) => s.name === 'health_check_before')
  t.match(step?.detail, /target_role: warning: the target role "[^"]+" is a superuser/, 'the health check step says so')
  const log = await h.request('GET', `/deployments/${preview.id}/log`, { as: 'viewer' })
  t.match(log.body, /⚠ warning: the target role "[^"]+" is a superuser: a migration could run programs/, 'and so does the log')
})

// The embedded default (scripts/services.sh): each environment's URL names its own role.
const embedded = process.env.STAGING_DATABASE_URL !== undefined && process.env.PROD_DATABASE_URL !== undefined &&
  new URL(process.env.STAGING_DATABASE_URL).pathname === '/deployer_staging'
  ? undefined
  : 'the embedded default\'s URLs (scripts/services.sh) are not set'

t.test('(a) the embedded default\'s staging role cannot do it, even with every statement allowed', { skip: embedded ?? false }, async (t) => {
  const stagingUrl = process.env.STAGING_DATABASE_URL as string
  const historyTable = `md_escape_${randomBytes(4).toString('hex')}`
  const h = await startHarness({
    env: { EMBEDDED_STAGING_URL: stagingUrl },
    environments: {
      staging: {
        database_url_env: 'EMBEDDED_STAGING_URL',
        migration_tool: 'sql',
        sql: { history_table: historyTable },
        policy: { allow_statements: ['ROLE SUPERUSER', 'COPY PROGRAM', 'LO_IMPORT'] }
      }
    }
  })
  t.teardown(h.close)
  t.teardown(async () => { await queryDatabase('deployer_staging', `DROP TABLE IF EXISTS ${historyTable}`) })
  const a = attack('deployer_production')
  t.teardown(async () => {
    await queryDatabase('deployer_production', `DROP TABLE IF EXISTS ${a.table}`)
    await dropAttacker(a)
  })

  const done = await deploy(t, h, 'staging', a.migrations)
  t.equal(done.status, 'failed', 'the first migration fails on the database')
  t.match(done.report.error, 'Migration 20250301000000_add_helper_role failed')
  t.match(done.report.result.database_error, /must be superuser to create superusers|permission denied to create role/,
    'a role without CREATEROLE cannot make a superuser')
  const copy = await deploy(t, h, 'staging', [{ name: '20250305000000_copy', sql: a.migrations[1]?.sql as string }])
  t.match(copy.report.result.database_error, /must be superuser or have privileges of the pg_execute_server_program role/,
    'COPY … PROGRAM is the server\'s to refuse')
  const file = await deploy(t, h, 'staging', [{ name: '20250305000100_file', sql: "SELECT lo_import('/etc/passwd');\n" }])
  t.match(file.report.result.database_error, /permission denied for function lo_import/, 'and so is lo_import')
  await assertUntouched(t, a, 'deployer_production', 'the embedded default')

  // Nor can it simply connect to production with its own credentials.
  const toProduction = new URL(stagingUrl)
  toProduction.pathname = '/deployer_production'
  const client = new pg.Client({ connectionString: toProduction.toString() })
  await t.rejects(client.connect(), /pg_hba\.conf rejects connection|permission denied for database/, 'staging\'s role cannot connect to production')
  await client.end().catch(() => {})
})
