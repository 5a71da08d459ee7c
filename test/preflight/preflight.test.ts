import t from 'tap'
import pg from 'pg'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'

// Values no response, log line or event may ever contain: preflight shares counts, never rows.
const SECRET = 'row-value-7f3a9c'

const protectedEnv = (rehearsal: Record<string, unknown>): Record<string, unknown> => ({
  protected: true,
  approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
  health_check: { checks: ['connectivity'], timeout: '5s' },
  backup_before_migrate: false,
  rehearsal: { schema: false, ...rehearsal }
})

const SEED = `
  CREATE TABLE "User" (id serial PRIMARY KEY, email text, name text, age int, code text);
  INSERT INTO "User" (email, name, age, code) VALUES
    ('${SECRET}-a@x', '${SECRET}', 30, '1'), (NULL, '${SECRET}', 40, '2'), (NULL, '${SECRET}', -1, '${SECRET}'),
    (NULL, '${SECRET}', 20, '4'), ('${SECRET}-dup@x', '${SECRET}', 50, '5'), ('${SECRET}-dup@x', '${SECRET}', 60, '6');
  CREATE TABLE team (id int PRIMARY KEY);
  INSERT INTO team VALUES (1), (2);
  CREATE TABLE member (id serial PRIMARY KEY, team_id int);
  INSERT INTO member (team_id) VALUES (1), (2), (3), (4), (NULL);
  CREATE TABLE clean (id serial PRIMARY KEY, email text, code text);
  INSERT INTO clean (email, code) VALUES ('${SECRET}-1@x', '10'), ('${SECRET}-2@x', '20');
`

async function deploy (h: Harness, environment: string, migrations: Array<{ name: string, sql: string }>): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { body: { environment, migrations } })
  if (created.statusCode !== 202) throw new Error(created.body)
  return await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
}

async function everythingSaid (h: Harness, deployment: DeploymentResource): Promise<string> {
  const log = await h.request('GET', `/deployments/${deployment.id}/log`, { as: 'viewer' })
  const again = await h.request('GET', `/deployments/${deployment.id}`, { as: 'viewer' })
  return [JSON.stringify(deployment), again.body, log.body, ...h.logLines].join('\n')
}

t.test('preflight on seeded production rows', async (t) => {
  const h = await startHarness({
    worker: true,
    environments: {
      production: protectedEnv({}),
      warned: protectedEnv({ on_prediction: 'warn' }),
      fresh: protectedEnv({})
    }
  })
  t.teardown(h.close)
  for (const target of Object.values(h.targets)) await queryDatabase(target, SEED)
  const prod = h.targets.production as string

  await t.test('NULLs under a new NOT NULL: PREFLIGHT_FAILED naming table, column and count; nothing applied; no row value anywhere', async (t) => {
    const done = await deploy(h, 'production', [{ name: '20250301000000_email_required', sql: 'ALTER TABLE "User" ALTER COLUMN email SET NOT NULL;\n' }])
    t.equal(done.status, 'failed')
    const report = done.report as { error: string, error_code: string, result: { failed_migration: string, preflight: Array<Record<string, unknown>> } }
    t.equal(report.error_code, 'PREFLIGHT_FAILED')
    t.equal(report.error, 'Preflight: migration 20250301000000_email_required would fail: 3 rows of "User" have NULL in "email"')
    t.equal(report.result.failed_migration, '20250301000000_email_required')
    t.match(report.result.preflight, [{ check: 'not_null', relation: '"User"', columns: ['email'], offending_rows: 3, status: 'would_fail' }])
    t.equal(done.steps.find((s) => s.name === 'preflight')?.status, 'failed')
    t.notOk(done.steps.some((s) => s.name === 'approval'), 'it never reached the approval gate')
    const [column] = await queryDatabase<{ is_nullable: string }>(prod, 'SELECT is_nullable FROM information_schema.columns WHERE table_name = \'User\' AND column_name = \'email\'')
    t.equal(column?.is_nullable, 'YES', 'the column is untouched')
    const [history] = await queryDatabase<{ found: boolean }>(prod, 'SELECT to_regclass(\'_prisma_migrations\') IS NOT NULL AS found')
    t.equal(history?.found, false, 'not even the history table was created')
    t.notOk((await everythingSaid(h, done)).includes(SECRET), 'no row value in the resource, the log or the process log')
  })

  await t.test('duplicates under a unique index, orphans under a foreign key, a failing cast, a CHECK: each counted', async (t) => {
    const done = await deploy(h, 'production', [
      { name: '20250302000000_unique_email', sql: 'CREATE UNIQUE INDEX "User_email_key" ON "User" (email);\n' },
      { name: '20250302000001_member_team', sql: 'ALTER TABLE member ADD CONSTRAINT member_team_fkey FOREIGN KEY (team_id) REFERENCES team;\n' },
      { name: '20250302000002_code_int', sql: 'ALTER TABLE "User" ALTER COLUMN code TYPE integer USING code::integer;\n' },
      { name: '20250302000003_adult', sql: 'ALTER TABLE "User" ADD CONSTRAINT adult CHECK (age >= 0);\n' }
    ])
    t.equal(done.status, 'failed')
    const report = done.report as { error: string, result: { preflight: Array<Record<string, unknown>> } }
    t.match(report.result.preflight, [
      { migration: '20250302000000_unique_email', check: 'unique', relation: '"User"', columns: ['email'], offending_rows: 2, status: 'would_fail' },
      { migration: '20250302000001_member_team', check: 'foreign_key', relation: '"member"', columns: ['team_id'], offending_rows: 2, status: 'would_fail' },
      { migration: '20250302000002_code_int', check: 'cast', columns: ['code'], offending_rows: 1, status: 'would_fail' },
      { migration: '20250302000003_adult', check: 'check', offending_rows: 1, status: 'would_fail' }
    ])
    t.match(report.error, /^Preflight: migration 20250302000000_unique_email would fail: 2 rows of "User" share their key/)
    t.match(report.error, /migration 20250302000002_code_int would fail: 1 row of "User" has a value in "code" that does not convert to integer/)
    t.notOk((await everythingSaid(h, done)).includes(SECRET), 'the failing cast\'s value (a row value) is nowhere')
    const [index] = await queryDatabase<{ found: boolean }>(prod, 'SELECT to_regclass(\'"User_email_key"\') IS NOT NULL AS found')
    t.equal(index?.found, false)
  })

  await t.test('NOT VALID constraints are not counted; a table the plan creates, and rows it backfills, are reasoned about', async (t) => {
    const done = await deploy(h, 'production', [
      { name: '20250303000000_not_valid', sql: 'ALTER TABLE member ADD CONSTRAINT member_team_fkey FOREIGN KEY (team_id) REFERENCES team NOT VALID;\nALTER TABLE "User" ADD CONSTRAINT adult CHECK (age >= 0) NOT VALID;\n' },
      { name: '20250303000001_new_table', sql: 'CREATE TABLE audit (id int, who text);\nALTER TABLE audit ALTER COLUMN who SET NOT NULL;\nCREATE UNIQUE INDEX audit_id ON audit (id);\n' },
      { name: '20250303000002_backfill', sql: 'UPDATE "User" SET email = \'unknown\' WHERE email IS NULL;\nALTER TABLE "User" ALTER COLUMN email SET NOT NULL;\n' }
    ])
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    t.match(done.plan?.preflight, [
      { check: 'foreign_key', status: 'skipped', offending_rows: null, reason: /NOT VALID/ },
      { check: 'check', status: 'skipped', reason: /NOT VALID/ },
      { migration: '20250303000001_new_table', check: 'not_null', relation: '"audit"', status: 'skipped', reason: /created earlier in this plan/ },
      { migration: '20250303000001_new_table', check: 'unique', status: 'skipped', reason: /created earlier in this plan/ },
      { migration: '20250303000002_backfill', statement_index: 1, check: 'not_null', status: 'skipped', reason: /rows changed earlier in this plan \(UPDATE in 20250303000002_backfill, statement 1\)/ }
    ])
    t.not(done.plan?.checksum, done.plan?.pending_checksum, 'the checksum covers the preflight too')
    await h.request('POST', `/deployments/${done.id}/reject`, { as: 'alice', body: { reason: 'test' } })
  })

  await t.test('a count slower than its statement_timeout is timed_out, never a hang', async (t) => {
    const h2 = await startHarness({ worker: true, environments: { production: protectedEnv({ on_prediction: 'warn', preflight_query_timeout: '200ms' }) } })
    t.teardown(h2.close)
    await queryDatabase(h2.targets.production as string, SEED)
    const blocker = new pg.Client({ connectionString: databaseUrl(h2.targets.production as string) })
    await blocker.connect()
    t.teardown(async () => { await blocker.end() })
    await blocker.query('BEGIN; LOCK TABLE member IN ACCESS EXCLUSIVE MODE')
    const done = await deploy(h2, 'production', [{ name: '20250304000000_team_required', sql: 'ALTER TABLE member ALTER COLUMN team_id SET NOT NULL;\n' }])
    await blocker.query('ROLLBACK')
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    t.match(done.plan?.preflight, [{ check: 'not_null', status: 'timed_out', offending_rows: null, reason: /within 0.2s/ }])
  })

  await t.test('on_prediction: warn sends the predicted failure to the approver, flagged on its migration', async (t) => {
    const done = await deploy(h, 'warned', [{ name: '20250305000000_email_required', sql: 'ALTER TABLE "User" ALTER COLUMN email SET NOT NULL;\n' }])
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    t.match(done.plan?.preflight, [{ offending_rows: 3, status: 'would_fail' }])
    t.match(done.plan?.migrations[0]?.warnings[0], { rule: 'preflight', message: 'predicted to fail: 3 rows of "User" have NULL in "email"' })
    t.equal(done.steps.find((s) => s.name === 'preflight')?.status, 'passed')
    await h.request('POST', `/deployments/${done.id}/reject`, { as: 'alice', body: { reason: 'test' } })
  })

  await t.test('the same kinds of migrations on clean data: approved and applied', async (t) => {
    const done = await deploy(h, 'fresh', [
      { name: '20250306000000_clean', sql: 'ALTER TABLE clean ALTER COLUMN email SET NOT NULL;\nCREATE UNIQUE INDEX clean_email ON clean (email);\nALTER TABLE clean ALTER COLUMN code TYPE integer USING code::integer;\nALTER TABLE clean ADD CONSTRAINT positive CHECK (code > 0);\n' },
      { name: '20250306000001_team', sql: 'ALTER TABLE member ADD COLUMN lead_id int REFERENCES team (id);\nALTER TABLE team ADD CONSTRAINT team_id_positive CHECK (id > 0);\n' }
    ])
    t.equal(done.status, 'pending_approval', JSON.stringify(done.report))
    const checks = done.plan?.preflight ?? []
    t.same(checks.map((c) => [c.check, c.status, c.offending_rows]), [
      ['not_null', 'ok', 0], ['unique', 'ok', 0], ['cast', 'ok', 0], ['check', 'skipped', null], ['check', 'ok', 0]
    ], JSON.stringify(checks))
    t.match(checks[3]?.reason, /"code" changed type earlier in this plan/, 'a CHECK on a column the plan retyped is reasoned about, not counted on today\'s values')
    const approved = await h.request('POST', `/deployments/${done.id}/approve`, { as: 'alice' })
    t.equal(approved.statusCode, 200, approved.body)
    const finished = await h.waitFor(done.id, ['succeeded', 'failed'])
    t.equal(finished.status, 'succeeded', JSON.stringify(finished.report))
  })
})
