import t from 'tap'
import pg from 'pg'
import { adminUrl, databaseUrl, queryDatabase, uniqueName } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { dropRehearsalLeftovers } from '../../src/worker/rehearsal-leftovers.js'

const protectedEnv = (rehearsal: Record<string, unknown>): Record<string, unknown> => ({
  protected: true,
  approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
  health_check: { checks: ['connectivity'], timeout: '5s' },
  backup_before_migrate: false,
  rehearsal: { preflight: false, ...rehearsal }
})

// Real rows, so that a CREATE INDEX holds its lock long enough to be seen, and a rewrite rewrites something.
const SEED = `
  CREATE TABLE "User" (id serial PRIMARY KEY, email text NOT NULL, name text);
  INSERT INTO "User" (email, name) SELECT 'user' || i || '@example.com', 'name ' || (i % 1000) FROM generate_series(1, 30000) AS i;
`

async function deploy (h: Harness, environment: string, migrations: Array<{ name: string, sql: string }>): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { body: { environment, migrations } })
  if (created.statusCode !== 202) throw new Error(created.body)
  return await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
}

/** Scratch databases whose rehearsal is over (no holder connection): there must be none. */
async function orphanedScratchDatabases (): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminUrl() })
  await client.connect()
  try {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database d WHERE starts_with(datname, 'md_rehearsal_')
      AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'migration-deployer rehearsal ' || d.datname)`)
    return rows.map((r) => r.datname)
  } finally {
    await client.end()
  }
}

// The CREATEDB-only role scripts/services.sh makes for rehearsals (absent when the tests run against other services).
const REHEARSAL_URL = process.env.REHEARSAL_DATABASE_URL

t.test('rehearsal on a scratch copy of the target', async (t) => {
  const role = uniqueName('md_nocreatedb')
  const admin = new pg.Client({ connectionString: adminUrl() })
  await admin.connect()
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'nocreatedb-pw' NOCREATEDB`)
  await admin.query(`GRANT CONNECT ON DATABASE postgres TO ${role}`)
  t.teardown(async () => {
    await admin.query(`REVOKE CONNECT ON DATABASE postgres FROM ${role}`)
    await admin.query(`DROP ROLE IF EXISTS ${role}`)
    await admin.end()
  })
  const limited = new URL(adminUrl())
  limited.username = role
  limited.password = 'nocreatedb-pw'

  const h = await startHarness({
    worker: true,
    env: { NOCREATEDB_URL: limited.toString(), ...(REHEARSAL_URL === undefined ? {} : { REHEARSAL_DATABASE_URL: REHEARSAL_URL }) },
    environments: {
      production: protectedEnv({ copy_data_below: '100MB' }),
      separate: protectedEnv({ database_url_env: 'REHEARSAL_DATABASE_URL' }),
      drifted: protectedEnv({}),
      limited: protectedEnv({ database_url_env: 'NOCREATEDB_URL' })
    }
  })
  t.teardown(h.close)
  for (const target of Object.values(h.targets)) await queryDatabase(target, SEED)

  await t.test('locks, rewrites, CONCURRENTLY outside a transaction, durations and the schema diff, in the plan and its checksum', async (t) => {
    const done = await deploy(h, 'production', [
      { name: '20250401000000_name_index', sql: 'CREATE INDEX "User_name_idx" ON "User" (name);\n' },
      { name: '20250401000001_score', sql: 'ALTER TABLE "User" ADD COLUMN score float8 DEFAULT random();\n' },
      { name: '20250401000002_email_index', sql: 'CREATE INDEX CONCURRENTLY "User_email_idx" ON "User" (email);\n' }
    ])
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    const rehearsal = done.plan?.rehearsal
    t.equal(rehearsal?.status, 'passed', rehearsal?.reason ?? '')
    const [index, score, concurrent] = rehearsal?.migrations ?? []
    t.ok(index?.locks.some((l) => l.relation === '"User"' && l.mode === 'ShareLock'), `CREATE INDEX holds SHARE on "User": ${JSON.stringify(index?.locks)}`)
    t.same(index?.rewrites, [], 'an index build rewrites no table')
    t.same(score?.rewrites, ['"User"'], 'a volatile default rewrites the table')
    t.ok(score?.locks.some((l) => l.relation === '"User"' && l.mode === 'AccessExclusiveLock'), JSON.stringify(score?.locks))
    t.ok(concurrent?.locks.some((l) => l.relation === '"User"' && l.mode === 'ShareUpdateExclusiveLock'), `CONCURRENTLY ran outside a transaction: ${JSON.stringify(concurrent?.locks)}`)
    t.ok((index?.duration_seconds ?? 0) > 0)
    t.same(rehearsal?.schema_diff?.summary, [
      { object: 'index', name: 'public."User_email_idx"', change: 'added' },
      { object: 'index', name: 'public."User_name_idx"', change: 'added' },
      { object: 'column', name: 'public."User".score', change: 'added' }
    ], 'the schema diff, without the history table the first deployment creates')
    t.notOk(rehearsal?.migrations.some((m) => m.locks.some((l) => l.relation.includes('_prisma_migrations'))), 'the history table\'s locks are bookkeeping, not shown')
    t.match(rehearsal?.schema_diff?.unified, /\+CREATE INDEX "User_name_idx" ON public\."User" USING btree \(name\);/)
    t.match(done.plan?.migrations.map((m) => m.estimate_basis), ['measured in rehearsal', 'measured in rehearsal', 'measured in rehearsal'])
    t.not(done.plan?.checksum, done.plan?.pending_checksum, 'the approval is for the plan and what the rehearsal showed')
    const [onTarget] = await queryDatabase<{ found: boolean }>(h.targets.production as string, 'SELECT to_regclass(\'"User_name_idx"\') IS NOT NULL AS found')
    t.equal(onTarget?.found, false, 'the target is untouched')
    t.same(await orphanedScratchDatabases(), [], 'the scratch database is dropped')

    const approved = await h.request('POST', `/deployments/${done.id}/approve`, { as: 'alice' })
    t.equal(approved.statusCode, 200, approved.body)
    t.equal((await h.waitFor(done.id, ['succeeded', 'failed'])).status, 'succeeded')
  })

  await t.test('a migration naming a column a concurrent change dropped fails in rehearsal with PostgreSQL\'s message; the target is untouched', async (t) => {
    // The change another team shipped straight to the target after this migration was written.
    await queryDatabase(h.targets.drifted as string, 'ALTER TABLE "User" DROP COLUMN name')
    const done = await deploy(h, 'drifted', [{ name: '20250402000000_name_index', sql: 'CREATE INDEX "User_name_idx" ON "User" (name);\n' }])
    t.equal(done.status, 'failed')
    const report = done.report as { error: string, error_code: string, result: { failed_migration: string, rehearsal: { status: string } } }
    t.equal(report.error_code, 'REHEARSAL_FAILED')
    t.equal(report.error, 'Rehearsal: Migration 20250402000000_name_index failed: column "name" does not exist')
    t.equal(report.result.failed_migration, '20250402000000_name_index')
    t.equal(report.result.rehearsal.status, 'failed')
    t.notOk(done.steps.some((s) => s.name === 'approval'), 'it never reached the approval gate')
    const [history] = await queryDatabase<{ found: boolean }>(h.targets.drifted as string, 'SELECT to_regclass(\'_prisma_migrations\') IS NOT NULL AS found')
    t.equal(history?.found, false, 'nothing ran on the target')
    t.same(await orphanedScratchDatabases(), [])
  })

  await t.test('scratch databases made with rehearsal.database_url_env, a role that may only create databases', { skip: REHEARSAL_URL === undefined }, async (t) => {
    const done = await deploy(h, 'separate', [{ name: '20250404000000_name_index', sql: 'CREATE INDEX "User_name_idx" ON "User" (name);\n' }])
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    t.equal(done.plan?.rehearsal?.status, 'passed', done.plan?.rehearsal?.reason ?? '')
    t.same(done.plan?.rehearsal?.schema_diff?.summary, [{ object: 'index', name: 'public."User_name_idx"', change: 'added' }])
    t.same(await orphanedScratchDatabases(), [])
    await h.request('POST', `/deployments/${done.id}/reject`, { as: 'alice', body: { reason: 'test' } })
  })

  await t.test('a role without CREATEDB: rehearsal skipped with that reason, the deployment goes on', async (t) => {
    const done = await deploy(h, 'limited', [{ name: '20250403000000_name_index', sql: 'CREATE INDEX "User_name_idx" ON "User" (name);\n' }])
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    t.match(done.plan?.rehearsal, { status: 'skipped', reason: `the role "${role}" of NOCREATEDB_URL may not create databases (CREATEDB): set rehearsal.database_url_env to a URL whose role may` })
    t.equal(done.steps.find((s) => s.name === 'rehearsal')?.status, 'skipped')
    t.notOk(h.logLines.join('\n').includes('nocreatedb-pw'), 'the rehearsal URL\'s password is in no log line')
  })

  await t.test('a worker that dies mid-rehearsal leaves a scratch database the reconciler\'s next pass drops; a live rehearsal\'s is kept', async (t) => {
    const open = async (name: string): Promise<pg.Client> => {
      const holder = new pg.Client({ connectionString: databaseUrl(h.targets.production as string), application_name: `migration-deployer rehearsal ${name}` })
      holder.on('error', () => {})
      await holder.connect()
      await holder.query(`CREATE DATABASE "${name}"`)
      return holder
    }
    const dead = `md_rehearsal_${Date.now().toString(36)}_dead${Math.random().toString(16).slice(2, 8)}`
    const live = `md_rehearsal_${Date.now().toString(36)}_live${Math.random().toString(16).slice(2, 8)}`
    const dying = await open(dead)
    const living = await open(live)
    t.teardown(async () => { await living.query(`DROP DATABASE IF EXISTS "${live}" WITH (FORCE)`); await living.end() })
    // What kill -9 of the worker looks like to the server: the socket closes without a goodbye.
    ;(dying as unknown as { connection: { stream: { destroy: () => void } } }).connection.stream.destroy()
    const dropped = await (async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const names = await dropRehearsalLeftovers(h.runtime.pipeline)
        if (names.includes(dead)) return names
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return []
    })()
    t.ok(dropped.includes(dead), 'the dead worker\'s scratch database is dropped')
    t.notOk(dropped.includes(live), 'a rehearsal still running keeps its database')
    const left = await queryDatabase<{ datname: string }>(h.targets.production as string, 'SELECT datname FROM pg_database WHERE datname = ANY ($1)', [[dead, live]])
    t.same(left.map((r) => r.datname), [live])
  })
})
