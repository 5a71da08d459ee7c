import { cpSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { FIXTURES, startHarness, type Harness } from '../helpers/harness.js'

// "Anything else": migrations-fixtures/custom-tool/tool.mjs, a tiny real tool, with status parsed
// by configured patterns, the URL in TARGET_URL, and its argv and environment names printed.
const CUSTOM = {
  migration_tool: 'command',
  working_directory: 'custom-tool',
  command: {
    status: ['node', 'tool.mjs', 'status'],
    apply: ['node', 'tool.mjs', 'apply'],
    preview: ['node', 'tool.mjs', 'preview'],
    status_format: 'patterns',
    status_patterns: { applied: '^APPLIED (?<name>\\S+)$', pending: '^PENDING (?<name>\\S+)$' },
    url_env: 'TARGET_URL',
    migrations_dir: 'migrations',
    env: { TOOL_MODE: 'test' }
  },
  lock_timeout: '3s'
}

async function deploy (
  h: Harness,
  body: Record<string, unknown>
): Promise<{
  id: string
  status: string
  report: Record<string, unknown> & { error?: string; result: Record<string, unknown> }
  plan: { migrations: Array<{ name: string; sql: string; transactional: boolean; warnings: Array<{ rule: string }> }> } | null
  log: string
}> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'], 120_000)
  return {
    id: done.id,
    status: done.status,
    report: done.report as never,
    plan: done.plan as never,
    log: (await h.request('GET', `/deployments/${done.id}/log`, { as: 'viewer' })).body
  }
}

t.test('a custom tool: patterns, the URL only in its environment, preview, lock, no resolve or inline', async (t) => {
  const h = await startHarness({ environments: { staging: CUSTOM, perf: { ...CUSTOM, migration_lock_wait: '1s' } } })
  t.teardown(h.close)

  const done = await deploy(h, { environment: 'staging' })
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.same((done.report.result.migrations as Array<{ name: string }>).map((m) => m.name), ['001_gadgets.sql', '002_gadget_label_index.sql'])
  t.same(done.plan?.migrations.map((m) => [m.transactional, m.warnings[0]?.rule]), [[false, 'external-tool'], [false, 'external-tool']])
  t.match(done.plan?.migrations[0]?.sql, /CREATE TABLE "gadgets"/)
  t.match(done.log, /Preview by command \(command\.preview\):\n {2}│ argv: preview\n(.|\n)* {2}│ would run 001_gadgets\.sql: CREATE TABLE "gadgets"/, 'preview output in the plan\'s log')
  t.match(done.log, / {2}│ argv: apply\n/, 'argv holds no URL')
  const envLine = / {2}│ env: (.*)\n/.exec(done.log.slice(done.log.indexOf('argv: apply')))?.[1]?.split(',') ?? []
  t.ok(envLine.includes('TARGET_URL') && envLine.includes('TOOL_MODE') && envLine.includes('PGOPTIONS') && envLine.includes('PATH'), envLine.join(','))
  t.notOk(envLine.includes('DATABASE_URL'), 'the worker\'s own control-database URL does not reach the tool')
  t.same(envLine.filter((name) => /DATABASE_URL|REDIS_URL|^PG(HOST|USER|PASSWORD|DATABASE)$/.test(name)), [], 'nor the other URLs in the worker\'s environment (services.env), nor libpq defaults')
  t.match(done.log, / {2}│ pgoptions: -c lock_timeout=3000 -c statement_timeout=0/)
  t.notMatch(done.log, new RegExp(new URL(databaseUrl(h.targets.staging as string)).password || 'no-password-set'), 'no password in the log')
  t.same(await queryDatabase(h.targets.staging as string, 'SELECT name FROM custom_tool_history ORDER BY name'), [{ name: '001_gadgets.sql' }, { name: '002_gadget_label_index.sql' }])
  t.equal((await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json().up_to_date, true)

  const resolve = await h.request('POST', '/environments/staging/migrations/001_gadgets.sql/resolve', { as: 'alice', body: { as: 'applied' } })
  t.equal(resolve.statusCode, 409)
  t.match(resolve.json().error, { code: 'RESOLVE_NOT_SUPPORTED' })
  const inline = await h.request('POST', '/deployments', { body: { environment: 'staging', migrations: [{ name: '003_x', sql: 'SELECT 1;' }] } })
  t.equal(inline.statusCode, 400)
  t.match(inline.json().error, { code: 'INLINE_NOT_SUPPORTED' })

  const holder = new pg.Client({ connectionString: databaseUrl(h.targets.perf as string), application_name: 'other-deployer' })
  await holder.connect()
  t.teardown(async () => { await holder.end() })
  await holder.query('SELECT pg_advisory_lock(1835296112)')
  const blocked = await deploy(h, { environment: 'perf' })
  t.equal(blocked.status, 'failed')
  t.match(blocked.report.error, /waiting for the migration lock \(pg_advisory_lock\(1835296112\)\) held by pid \d+ \(application "other-deployer"/)
  t.notMatch(blocked.log, / {2}│ argv: apply/, 'the tool never ran')
  t.same(await queryDatabase(h.targets.perf as string, `SELECT count(*)::int AS n FROM custom_tool_history`), [{ n: 0 }])
})

t.test('approval with a command tool: the approved files, and a file changed after approval is refused', async (t) => {
  // A copy of custom-tool inside the project (t.testdir is under .tap/), so tool.mjs still finds pg.
  const workspace = t.testdir({})
  cpSync(path.join(FIXTURES, 'custom-tool'), path.join(workspace, 'custom-tool'), { recursive: true })
  const h = await startHarness({
    workspaceRoot: workspace,
    environments: { production: { ...CUSTOM, protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' } } }
  })
  t.teardown(h.close)
  const approveAndWait = async (id: string): Promise<Awaited<ReturnType<Harness['waitFor']>>> => {
    const approved = await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', body: { comment: 'read the files' } })
    if (approved.statusCode !== 200) throw new Error(approved.body)
    return await h.waitFor(id, ['succeeded', 'failed'], 120_000)
  }

  const first = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  t.equal((await h.waitFor(first.json().id, ['pending_approval'], 120_000)).status, 'pending_approval')
  const released = await approveAndWait(first.json().id)
  t.equal(released.status, 'succeeded', JSON.stringify(released.report))

  const third = path.join(workspace, 'custom-tool', 'migrations', '003_gadget_colour.sql')
  writeFileSync(third, 'ALTER TABLE "gadgets" ADD COLUMN "colour" text;\n')
  const second = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  const waiting = await h.waitFor(second.json().id, ['pending_approval'], 120_000)
  t.same(waiting.plan?.migrations.map((m) => m.name), ['003_gadget_colour.sql'])
  writeFileSync(third, 'DROP TABLE "gadgets";\n')
  const refused = await approveAndWait(second.json().id)
  t.equal(refused.status, 'failed')
  t.match((refused.report as { error: string }).error, /^plan is stale: 003_gadget_colour\.sql changed on disk since the plan was made; nothing was applied/)
  t.same(await queryDatabase(h.targets.production as string, `SELECT to_regclass('gadgets') IS NOT NULL AS kept`), [{ kept: true }], 'the edited file never ran')
})
