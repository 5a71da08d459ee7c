import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { startHarness } from '../helpers/harness.js'

/**
 * Issue 17, finding 3, at the API: what one request may cost. Deep nesting is refused before the
 * body is parsed; an upload with more statements than a plan may parse is a 422 without parsing;
 * a folder's migration past the limits fails its plan, naming the migration and the limit.
 */

const statements = (count: number): string => Array.from({ length: count }, (_unused, i) => `SELECT ${i};`).join('\n')

t.test('bodies nested deeper than limits.json_depth: 400 before parsing; normal bodies pass', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const nested = await h.request('POST', '/deployments', { payload: `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}` })
  t.equal(nested.statusCode, 400)
  t.equal(nested.json().error.code, 'JSON_TOO_DEEP')
  t.match(nested.json().error.message, /^request body nests arrays and objects more than 32 levels deep \(limits\.json_depth\); send a flat JSON object/)
  t.same(nested.json().error.details, { max_depth: 32 })
  const justOver = await h.request('POST', '/deployments', { payload: `{"environment": "dev", "source": ${'['.repeat(32)}${']'.repeat(32)}}` })
  t.equal(justOver.json().error.code, 'JSON_TOO_DEEP', '33 levels')
  const brackets = await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true, migrations: [{ name: '20250101000000_arrays', sql: `SELECT '${'['.repeat(5000)}';` }] } })
  t.equal(brackets.statusCode, 202, 'brackets inside strings do not count')
  const invalid = await h.request('POST', '/deployments', { payload: '{"environment": ' })
  t.equal(invalid.json().error.code, 'INVALID_JSON', 'Fastify\'s parser still decides validity')
  const poisoned = await h.request('POST', '/deployments', { payload: '{"environment": "dev", "__proto__": {"admin": true}}' })
  t.equal(poisoned.statusCode, 400, 'and still refuses prototype poisoning')
})

t.test('an upload with more statements than limits.max_statements_per_migration: 422, nothing recorded', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const upload = async (count: number): Promise<ReturnType<typeof h.request>> => await h.request('POST', '/deployments', {
    body: { environment: 'dev', dry_run: true, migrations: [{ name: '20250101000000_small', sql: 'SELECT 1;' }, { name: '20250101000001_many', sql: statements(count) }] }
  })
  t.equal((await upload(10_000)).statusCode, 202, '10,000 statements: accepted')
  const refused = await upload(10_001)
  t.equal(refused.statusCode, 422)
  t.same(refused.json().error, {
    code: 'MIGRATION_TOO_LARGE',
    message: 'migration "20250101000001_many" holds more than 10000 statements (limits.max_statements_per_migration): split it into several migrations, or ask an operator to raise the limit',
    details: { migration: '20250101000001_many', statements: 10_001, limit: 10_000 }
  })
  const { rows: [count] } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments')
  t.equal(count?.n, 1, 'only the accepted one was recorded')
})

t.test('a folder migration past the limits fails its plan, naming the migration and the limit', async (t) => {
  const workspace = mkdtempSync(path.join(tmpdir(), 'md-request-cost-'))
  t.teardown(() => { rmSync(workspace, { recursive: true, force: true }) })
  const migration = (project: string, name: string, sql: string): void => {
    mkdirSync(path.join(workspace, project, 'prisma', 'migrations', name), { recursive: true })
    writeFileSync(path.join(workspace, project, 'prisma', 'migrations', name, 'migration.sql'), sql)
  }
  migration('many', '20250101000000_init', 'CREATE TABLE a (id int);')
  migration('many', '20250101000001_many', statements(51))
  const h = await startHarness({
    workspaceRoot: workspace,
    environments: { dev: { working_directory: 'many' } },
    limits: { max_statements_per_migration: 50 }
  })
  t.teardown(h.close)
  const many = (await h.request('POST', '/deployments', { body: { environment: 'dev' } })).json().id as string
  const failed = await h.waitFor(many, ['failed', 'succeeded'])
  t.equal(failed.status, 'failed')
  t.match(failed.report, {
    error: 'Migration 20250101000001_many is too large: more than 50 statements; one migration may hold at most 50 (limits.max_statements_per_migration)',
    result: { failed_migration: '20250101000001_many', error_code: 'MIGRATION_TOO_LARGE', limit: 50 },
    recovery: { suggestions: ['Split the migration into several smaller ones; nothing was applied', 'Or ask an operator to raise limits.max_statements_per_migration'] }
  })
  t.equal(failed.plan, null, 'nothing was planned')
})

t.test('a migration that parses for longer than limits.parse_timeout fails its plan', async (t) => {
  const h = await startHarness({ limits: { max_statements_per_migration: 100_000, parse_timeout: '50ms' } })
  t.teardown(h.close)
  const slow = (await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true, migrations: [{ name: '20250101000000_slow', sql: statements(30_000) }] } })).json().id as string
  const failed = await h.waitFor(slow, ['failed', 'succeeded'])
  t.equal(failed.status, 'failed')
  t.match(failed.report, {
    error: 'Migration 20250101000000_slow could not be parsed in time: parsing took longer than 0.05s and was stopped (limits.parse_timeout)',
    result: { failed_migration: '20250101000000_slow', error_code: 'PARSE_TIMEOUT', timeout_ms: 50 }
  })
})
