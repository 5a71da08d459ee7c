import t from 'tap'
import { failureKindOf, healthCheckSuggestions, recoverySuggestions } from '../../src/pipeline/recovery-suggestions.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'

/**
 * Each kind of failure gets its own recovery suggestions, the same whichever step finds it: the
 * pre-deployment health check or the pending-migration check (issue 16: drift found by the health
 * check used to say "Check that the database is running").
 */

interface ErrorReport { status: string, error: string, result: Record<string, unknown>, recovery: { suggestions: string[] } }

const h = await startHarness({
  environments: {
    drifted: { working_directory: 'app' },
    inline: { working_directory: 'app' },
    unfinished: { working_directory: 'app' },
    custom: { working_directory: 'app', health_check: { sql: [{ name: 'has_admin', query: 'SELECT false' }] } },
    unreadable: { working_directory: 'app' },
    down: { working_directory: 'app', database_url_env: 'DOWN_DATABASE_URL', health_check: { timeout: '2s' } }
  }
})
t.teardown(h.close)
h.runtime.pipeline.env.DOWN_DATABASE_URL = 'postgres://u:p@127.0.0.1:1/none'

async function deploy (body: Record<string, unknown>, expected: string): Promise<ErrorReport> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  if (done.status !== expected) throw new Error(`${JSON.stringify(body)}: ${done.status}, expected ${expected}: ${JSON.stringify(done.report)}`)
  return done.report as unknown as ErrorReport
}

const env = (name: string): { name: string, mode: 'deploy', database_url_env: string } =>
  ({ name, mode: 'deploy', database_url_env: h.config.environments[name]?.database_url_env as string })
const RUNNING_HINT = /is running and reachable/

t.test('drift: the same suggestions through the health check and through the pending check, never "is the database running"', async (t) => {
  await deploy({ environment: 'drifted' }, 'succeeded')
  await queryDatabase(h.targets.drifted as string, "UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = '20250110090000_init'")
  const viaHealthCheck = await deploy({ environment: 'drifted' }, 'failed')
  t.equal(viaHealthCheck.error, 'Pre-deployment health check failed')
  t.same(viaHealthCheck.recovery.suggestions, recoverySuggestions('drift', { environment: env('drifted') }))
  t.match(viaHealthCheck.recovery.suggestions[0], /Restore the applied migration files exactly/)
  t.notMatch(viaHealthCheck.recovery.suggestions.join('\n'), RUNNING_HINT)

  const viaPendingCheck = await deploy({ environment: 'drifted', skip_health_check: true }, 'failed')
  t.match(viaPendingCheck.error, /^Drift detected: 20250110090000_init \(edited after it was applied\)/)
  t.same(viaPendingCheck.recovery.suggestions, viaHealthCheck.recovery.suggestions, 'the same advice either way')
})

t.test('an inline upload of only the new migration is drift, and the advice says an upload is the whole source', async (t) => {
  await deploy({ environment: 'inline' }, 'succeeded')
  const upload = [{ name: '20250124140000_add_user_profiles', sql: 'CREATE TABLE "UserProfile" (id serial primary key);' }]
  const report = await deploy({ environment: 'inline', migrations: upload }, 'failed')
  t.match(JSON.stringify(report.result.details), /20250110090000_init \(applied but missing from the source\)/)
  t.match(report.recovery.suggestions.join('\n'), /An inline upload \(deploy --dir\) is the whole source/)
  t.notMatch(report.recovery.suggestions.join('\n'), RUNNING_HINT)
})

t.test('an unfinished migration: resolve it, named, through either check', async (t) => {
  await deploy({ environment: 'unfinished' }, 'succeeded')
  await queryDatabase(h.targets.unfinished as string,
    "UPDATE _prisma_migrations SET finished_at = NULL, logs = 'boom' WHERE migration_name = '20250120160000_add_audit_log'")
  const viaHealthCheck = await deploy({ environment: 'unfinished' }, 'failed')
  const resolve = 'Fix the database by hand, then mark it with POST /environments/unfinished/migrations/20250120160000_add_audit_log/resolve ' +
    '{"as":"applied"} or {"as":"rolled_back"}'
  t.same(viaHealthCheck.recovery.suggestions, [resolve])
  const viaPendingCheck = await deploy({ environment: 'unfinished', skip_health_check: true }, 'failed')
  t.same(viaPendingCheck.recovery.suggestions, [resolve])
})

t.test('a custom health check names itself; an unreadable history table and an unreachable database say what to check', async (t) => {
  const custom = await deploy({ environment: 'custom' }, 'failed')
  t.same(custom.recovery.suggestions, [
    'The custom health check has_admin (health_check.sql in the config) failed: fix what it checks, or its query, then deploy again'
  ])

  await queryDatabase(h.targets.unreadable as string, 'CREATE TABLE _prisma_migrations (oops int)')
  const unreadable = await deploy({ environment: 'unreadable' }, 'failed')
  t.same(unreadable.recovery.suggestions, recoverySuggestions('history_unreadable', { environment: env('unreadable') }))
  t.match(unreadable.recovery.suggestions[0], new RegExp(`the role in ${env('unreadable').database_url_env} may read and write it`))

  const down = await deploy({ environment: 'down' }, 'failed')
  t.same(down.recovery.suggestions, recoverySuggestions('unreachable', { environment: env('down') }))
  t.match(down.recovery.suggestions[0], /DOWN_DATABASE_URL holds its URL/)
})

t.test('failure kinds from check outcomes; several failed checks give each kind\'s advice once, in order', async (t) => {
  t.equal(failureKindOf({ check: 'connectivity', passed: false, message: 'connect ECONNREFUSED' }), 'unreachable')
  t.equal(failureKindOf({ check: 'migrations', passed: false, message: 'drift: x' }), 'drift')
  t.equal(failureKindOf({ check: 'sql:x', passed: false, message: 'returned false' }), 'custom_check')
  t.equal(failureKindOf({ check: 'schema', passed: false, message: 'history table not readable: permission denied' }), 'history_unreadable')
  const unfinished = 'unfinished or failed migrations: a_1 (started), b_2 (started 2025-01-01T00:00:00.000Z, never finished)'
  t.equal(failureKindOf({ check: 'schema', passed: false, message: unfinished }), 'unfinished_migration')
  const environment = { name: 'dev', mode: 'dev' as const, database_url_env: 'DEV_DATABASE_URL' }
  const suggestions = healthCheckSuggestions([
    { check: 'connectivity', passed: true, message: 'ok' },
    { check: 'schema', passed: false, message: 'unfinished or failed migrations: 1_a (started), 2_b (started)' },
    { check: 'migrations', passed: false, message: 'drift: 3_c (file changed since it was applied)' },
    { check: 'sql:one', passed: false, message: 'returned false' },
    { check: 'sql:one', passed: false, message: 'returned false' }
  ], environment)
  t.same(suggestions, [
    ...recoverySuggestions('unfinished_migration', { environment, migrations: ['1_a'] }),
    ...recoverySuggestions('drift', { environment }),
    ...recoverySuggestions('custom_check', { environment, check: 'one' })
  ])
  t.match(suggestions.join('\n'), /reset_on_drift/, 'dev mode also offers reset_on_drift')
})
