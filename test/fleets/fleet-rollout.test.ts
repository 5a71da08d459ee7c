import t from 'tap'
import { startHarness, type Harness } from '../helpers/harness.js'
import { databaseUrl, dropDatabase } from '../helpers/databases.js'
import { appliedIn, tenantUrlTemplate, TenantDatabases } from '../helpers/tenant-databases.js'
import { ALL, body, createCatalog, fleetEnvironment, M1, M2, M3 } from '../helpers/fleet-fixtures.js'

// Fleets (SPEC §14, issue 21), the happy path at size (other cases: fleet-failures.test.ts) on real PostgreSQL: tenant databases cloned from one template per
// history state, listed by a catalog query and reached through a URL template.
const tenants = new TenantDatabases()
let catalog: string
let h: Harness
const template = tenantUrlTemplate()
const fleets: Record<string, string[]> = {}
const responses: string[] = []

t.before(async () => {
  const [empty, one, two] = await Promise.all([tenants.template([]), tenants.template([M1]), tenants.template([M1, M2])])
  fleets.three = [
    ...await tenants.clone(empty as string, 'md_t3a', 20),
    ...await tenants.clone(one as string, 'md_t3b', 15),
    ...await tenants.clone(two as string, 'md_t3c', 15)
  ]
  catalog = await createCatalog(fleets, ['three'])
  h = await startHarness({
    environments: {
      three: fleetEnvironment('three', { protected: true, approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' }, rollout: { canary: 1, batch_size: 25, concurrency: 8 } })
    },
    env: { FLEET_CATALOG_URL: databaseUrl(catalog), FLEET_TENANT_URL: template }
  })
})

t.teardown(async () => {
  await h?.close()
  await tenants.drop()
  if (catalog !== undefined) await dropDatabase(catalog)
})

async function targetsOf (id: string, query = ''): Promise<{ targets: Array<{ name: string, status: string, error: string | null, group: number | null, report: Record<string, unknown> | null }>, summary: Record<string, number>, next_cursor: string | null }> {
  const res = await h.request('GET', `/deployments/${id}/targets${query}`, { as: 'viewer' })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json()
}

t.test('50 databases in three history states: three groups, one approval, all succeed', async (t) => {
  const created = await h.request('POST', '/deployments', { body: body('three') })
  t.equal(created.statusCode, 202, created.body)
  const id = created.json().id as string
  const pending = await h.waitFor(id, ['pending_approval', 'failed'])
  responses.push(JSON.stringify(pending))
  t.equal(pending.status, 'pending_approval')
  const groups = (pending.plan as { groups: Array<{ target_count: number, pending_migrations: number, migrations: Array<{ name: string }> }> }).groups
  t.same(groups.map((g) => [g.target_count, g.pending_migrations]).sort(), [[15, 1], [15, 2], [20, 3]], 'three groups, each with its pending list')
  t.same(groups.find((g) => g.pending_migrations === 1)?.migrations.map((m) => m.name), [M3.name])
  t.equal(pending.plan?.pending_migrations, 3)
  t.same(pending.summary, { total: 50, succeeded: 0, failed: 0, skipped: 0, running: 0, pending: 50 }, 'the inactive tenant is not a target')

  const approved = await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', body: { comment: 'fleet ok' } })
  t.equal(approved.statusCode, 200, approved.body)
  const done = await h.waitFor(id, ['succeeded', 'failed'], 120_000)
  responses.push(JSON.stringify(done))
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.same(done.summary, { total: 50, succeeded: 50, failed: 0, skipped: 0, running: 0, pending: 0 })
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 20 * 3 + 15 * 2 + 15 * 1)
  const applied = await Promise.all((fleets.three as string[]).map(async (name) => await appliedIn(name)))
  t.ok(applied.every((names) => names.join() === ALL.map((m) => m.name).join()), 'every tenant has the three migrations applied, once')

  const page1 = await targetsOf(id, '?limit=20')
  t.equal(page1.targets.length, 20)
  t.ok(page1.next_cursor !== null)
  const page2 = await targetsOf(id, `?limit=40&cursor=${page1.next_cursor ?? ''}`)
  t.equal(page2.targets.length, 30)
  t.equal(page2.next_cursor, null)
  const report = page1.targets[0]?.report as { status: string, result: { migrations_applied: number, health_check_before: string }, target: string }
  t.equal(report.status, 'success', 'each target has its own report in the skill\'s shape')
  t.equal(typeof report.result.migrations_applied, 'number')
  t.equal(report.result.health_check_before, 'passed')
  t.equal((await targetsOf(id, '?status=failed')).targets.length, 0)
  responses.push(JSON.stringify(page1), JSON.stringify(page2))
  const log = await h.request('GET', `/deployments/${id}/log`, { as: 'viewer' })
  t.match(log.body, /Canary/)
  t.match(log.body, /Fleet: 50\/50 succeeded/)
  responses.push(log.body)
})

t.test('no target URL in any response, log line or event', async (t) => {
  const prefix = template.slice(0, template.indexOf('{name}'))
  const { rows: events } = await h.runtime.pool.query<{ text: string }>('SELECT coalesce(message, \'\') || coalesce(data::text, \'\') AS text FROM deployment_events')
  const haystacks = [...responses, ...h.logLines, ...events.map((e) => e.text)]
  t.ok(haystacks.length > 10)
  t.notOk(haystacks.some((text) => text.includes(prefix)), 'the URL template (and so every target URL) appears nowhere')
  t.notOk(haystacks.some((text) => /postgres(ql)?:\/\/[^\s"]*@/.test(text)), 'no URL with credentials appears')
})
