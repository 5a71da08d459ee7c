import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { queryDatabase } from '../helpers/databases.js'
import { FIXTURES, startHarness, type Harness } from '../helpers/harness.js'

/**
 * `requires_success_in`: a plan is refused while it is made (before the approval gate) unless
 * every planned migration was applied, with the same checksum, in each named environment.
 */

const APP_MIGRATIONS = readdirSync(path.join(FIXTURES, 'app/prisma/migrations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()

const protectedEnvironment = (requires: string[]): Record<string, unknown> => ({
  working_directory: 'app',
  protected: true,
  requires_success_in: requires,
  approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
  health_check: { checks: ['connectivity'], timeout: '5s' }
})

interface GateReport {
  status: string
  error: string
  result: { promotion_gate?: string; requires_success_in?: string[]; missing_migrations?: Record<string, string[]> }
}

async function deploy (h: Harness, body: Record<string, unknown>): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(`${created.statusCode} ${created.body}`)
  return await h.waitFor(created.json().id, ['pending_approval', 'succeeded', 'failed'])
}

async function historyCount (h: Harness, environment: string): Promise<number> {
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets[environment] as string, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  if (exists?.found !== true) return 0
  return (await queryDatabase<{ n: number }>(h.targets[environment] as string, 'SELECT count(*)::int AS n FROM _prisma_migrations'))[0]?.n ?? -1
}

t.test('production is refused until staging has the same migrations, then passes', async (t) => {
  const h = await startHarness({
    environments: {
      staging: { working_directory: 'app' },
      qa: { working_directory: 'app' },
      production: protectedEnvironment(['staging']),
      eu: protectedEnvironment(['staging', 'qa'])
    }
  })
  t.teardown(h.close)

  // 1. Nothing in staging yet: refused, naming every planned migration, before any approval.
  const refused = await deploy(h, { environment: 'production' })
  t.equal(refused.status, 'failed')
  const report = refused.report as unknown as GateReport
  t.equal(report.error, `Promotion gate refused the plan: not yet applied in staging: ${APP_MIGRATIONS.join(', ')}`)
  t.same(report.result.missing_migrations, { staging: APP_MIGRATIONS })
  t.equal(report.result.promotion_gate, 'failed')
  t.equal(refused.steps.find((s) => s.name === 'check_pending')?.status, 'failed', 'refused while the plan is made')
  t.notOk(refused.steps.some((s) => s.name === 'approval'), 'the approval gate was never reached')
  t.equal(refused.approval, null, 'nobody is asked to approve a plan that cannot pass')
  t.equal(refused.plan?.pending_migrations, 5, 'the refused plan is kept for the record')
  t.equal(await historyCount(h, 'production'), 0, 'nothing applied')
  const refusedLog = (await h.request('GET', `/deployments/${refused.id}/log`)).body
  t.match(refusedLog, /✗ Promotion gate: not yet applied in staging: /)
  t.match(refusedLog, /❌ FAILED: Migration Deployer/)
  t.match(refusedLog, /Deploy the same migrations .* to staging first/)

  // A dry run shows what the gate would say, and does not fail.
  const preview = await deploy(h, { environment: 'production', dry_run: true })
  t.equal(preview.status, 'succeeded')
  t.match((await h.request('GET', `/deployments/${preview.id}/log`)).body, /⚠ Promotion gate would refuse this plan: not yet applied in staging/)

  // 2. Deploy to staging.
  const staging = await deploy(h, { environment: 'staging' })
  t.equal(staging.status, 'succeeded', JSON.stringify(staging.report))

  // 3. The same names with one byte changed are different migrations: the gate goes by checksum.
  const inline = APP_MIGRATIONS.map((name) => ({ name, sql: readFileSync(path.join(FIXTURES, 'app/prisma/migrations', name, 'migration.sql'), 'utf8') }))
  const edited = inline.map((m, i) => i === 2 ? { ...m, sql: `${m.sql}\n` } : m)
  const tampered = await deploy(h, { environment: 'production', migrations: edited })
  t.equal(tampered.status, 'failed')
  t.same((tampered.report as unknown as GateReport).result.missing_migrations, { staging: [APP_MIGRATIONS[2]] }, 'only the edited file is missing from staging')

  // 4. The exact bytes staging has: the gate passes and the plan waits for approval.
  const passing = await deploy(h, { environment: 'production' })
  t.equal(passing.status, 'pending_approval', JSON.stringify(passing.report))
  t.match((await h.request('GET', `/deployments/${passing.id}/log`)).body, /✓ Promotion gate: all 5 pending migrations were applied in staging first/)
  t.equal((await h.request('POST', `/deployments/${passing.id}/approve`, { as: 'alice' })).statusCode, 200)
  t.equal((await h.waitFor(passing.id, ['succeeded', 'failed'])).status, 'succeeded')
  t.equal(await historyCount(h, 'production'), 5)

  // 5. A new migration not yet in staging: only it is named.
  const next = await deploy(h, { environment: 'production', working_directory: 'app-next' })
  t.equal(next.status, 'failed')
  t.same((next.report as unknown as GateReport).result.missing_migrations, { staging: ['20250124140000_add_user_profiles'] })
  t.equal(await historyCount(h, 'production'), 5, 'nothing more applied')

  // 6. Several environments required: the error names what is missing in each, and only there.
  const eu = await deploy(h, { environment: 'eu' })
  t.equal(eu.status, 'failed')
  const euReport = eu.report as unknown as GateReport
  t.same(euReport.result.missing_migrations, { qa: APP_MIGRATIONS }, 'staging has them all, qa has none')
  t.same(euReport.result.requires_success_in, ['staging', 'qa'])
  t.match(euReport.error, /not yet applied in qa: /)
  t.notMatch(euReport.error, /staging/)
  t.equal((await deploy(h, { environment: 'qa' })).status, 'succeeded')
  t.equal((await deploy(h, { environment: 'eu' })).status, 'pending_approval', 'passes once qa has them too')
})

t.test('a failed migration in staging does not count as applied there', async (t) => {
  const h = await startHarness({
    environments: {
      staging: { working_directory: 'broken-third' },
      production: { ...protectedEnvironment(['staging']), working_directory: 'broken-third' }
    }
  })
  t.teardown(h.close)
  const staging = await deploy(h, { environment: 'staging' })
  t.equal(staging.status, 'failed', 'migration 3 of broken-third fails in staging')
  const production = await deploy(h, { environment: 'production' })
  t.equal(production.status, 'failed')
  t.same((production.report as unknown as GateReport).result.missing_migrations, { staging: ['20250203090000_add_tags', '20250204090000_add_project_archived_at'] }, 'the two applied in staging pass; the failed one and the one after it do not')
})
