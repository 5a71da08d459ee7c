import t from 'tap'
import { startHarness, type Harness } from '../helpers/harness.js'
import { databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { appliedIn, applyWithPrisma, tenantUrlTemplate, TenantDatabases } from '../helpers/tenant-databases.js'
import { body, createCatalog, fleetEnvironment, M1, M2 } from '../helpers/fleet-fixtures.js'

// Fleets (SPEC §14, issue 21), what goes wrong: a failing canary, max_failures and retry, a stale target.
// Tenant databases cloned from one template per history state, listed by a catalog query and reached through a URL template.
const tenants = new TenantDatabases()
let catalog: string
let h: Harness
const template = tenantUrlTemplate()
const fleets: Record<string, string[]> = {}
const responses: string[] = []

t.before(async () => {
  const [empty, one] = await Promise.all([tenants.template([]), tenants.template([M1])])
  fleets.canary = await tenants.clone(empty as string, 'md_tca', 6)
  fleets.limit = await tenants.clone(empty as string, 'md_tlm', 10)
  fleets.stale = await tenants.clone(one as string, 'md_tst', 5)
  catalog = await createCatalog(fleets, [])
  h = await startHarness({
    environments: {
      canary: fleetEnvironment('canary', { rollout: { canary: 1, batch_size: 2, concurrency: 2 } }),
      limit: fleetEnvironment('limit', { rollout: { canary: 1, batch_size: 3, concurrency: 1, max_failures: 2 } }),
      stale: fleetEnvironment('stale', { protected: true, approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' }, rollout: { canary: 0, batch_size: 5, concurrency: 2 } })
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

t.test('the canary fails: nothing else runs', async (t) => {
  const [first, ...rest] = (fleets.canary as string[]).slice().sort()
  await queryDatabase(first as string, 'CREATE TABLE accounts (id int)')
  const id = (await h.request('POST', '/deployments', { body: body('canary') })).json().id as string
  const done = await h.waitFor(id, ['succeeded', 'failed'], 60_000)
  t.equal(done.status, 'failed')
  t.same(done.summary, { total: 6, succeeded: 0, failed: 1, skipped: 5, running: 0, pending: 0 })
  const failed = await targetsOf(id, '?status=failed')
  t.equal(failed.targets[0]?.name, first)
  t.match(failed.targets[0]?.error, /Migration 20250101000000_init failed/)
  t.equal((failed.targets[0]?.report as { result: { failed_migration: string } }).result.failed_migration, M1.name)
  const skipped = await targetsOf(id, '?status=skipped')
  t.ok(skipped.targets.every((target) => /canary failed/.test(target.error ?? '')), 'the rest are skipped because the canary failed')
  const applied = await Promise.all(rest.map(async (name) => await appliedIn(name)))
  t.ok(applied.every((names) => names.length === 0), 'no other tenant was touched')
  responses.push(JSON.stringify(done), JSON.stringify(failed), JSON.stringify(skipped))
})

t.test('max_failures 2 with three broken targets: two failed, the rest skipped; retry after fixing: done', async (t) => {
  const names = (fleets.limit as string[]).slice().sort()
  const broken = [names[2], names[4], names[6]] as string[]
  await Promise.all(broken.map(async (name) => { await queryDatabase(name, 'CREATE TABLE orders (id int)') }))
  const id = (await h.request('POST', '/deployments', { body: body('limit') })).json().id as string
  const done = await h.waitFor(id, ['succeeded', 'failed'], 60_000)
  t.equal(done.status, 'failed')
  t.same(done.summary, { total: 10, succeeded: 3, failed: 2, skipped: 5, running: 0, pending: 0 })
  t.same((await targetsOf(id, '?status=failed')).targets.map((x) => x.name), [broken[0], broken[1]])
  t.same(await appliedIn(broken[2] as string), [], 'the third broken target never ran')

  await Promise.all(broken.map(async (name) => { await queryDatabase(name, 'DROP TABLE orders') }))
  const retried = await h.request('POST', `/deployments/${id}/retry`)
  t.equal(retried.statusCode, 202, retried.body)
  const retryId = retried.json().id as string
  t.equal(retried.json().retry_of, id)
  const second = await h.waitFor(retryId, ['succeeded', 'failed'], 60_000)
  t.equal(second.status, 'succeeded', JSON.stringify(second.report))
  t.same(second.summary, { total: 7, succeeded: 7, failed: 0, skipped: 0, running: 0, pending: 0 }, 'only the targets that did not succeed')
  t.equal(second.retry_of, id)
  const applied = await Promise.all(names.map(async (name) => await appliedIn(name)))
  t.ok(applied.every((list) => list.length === 3), 'every tenant of the fleet is up to date')
  t.equal((await h.request('POST', `/deployments/${retryId}/retry`)).statusCode, 409, 'nothing left to retry')
  responses.push(JSON.stringify(second))
})

t.test('a target whose history changed between plan and approval is skipped as stale, alone', async (t) => {
  const id = (await h.request('POST', '/deployments', { body: body('stale') })).json().id as string
  await h.waitFor(id, ['pending_approval'])
  const edited = (fleets.stale as string[]).slice().sort()[1] as string
  await applyWithPrisma(edited, [M2])
  t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', body: {} })).statusCode, 200)
  const done = await h.waitFor(id, ['succeeded', 'failed'], 60_000)
  t.same(done.summary, { total: 5, succeeded: 4, failed: 0, skipped: 1, running: 0, pending: 0 })
  const skipped = await targetsOf(id, '?status=skipped')
  t.equal(skipped.targets[0]?.name, edited)
  t.match(skipped.targets[0]?.error, /plan is stale/)
  t.same(await appliedIn(edited), [M1.name, M2.name], 'nothing applied to the stale target')
  responses.push(JSON.stringify(done))
})

t.test('no target URL in any response, log line or event', async (t) => {
  const prefix = template.slice(0, template.indexOf('{name}'))
  const { rows: events } = await h.runtime.pool.query<{ text: string }>('SELECT coalesce(message, \'\') || coalesce(data::text, \'\') AS text FROM deployment_events')
  const haystacks = [...responses, ...h.logLines, ...events.map((e) => e.text)]
  t.ok(haystacks.length > 10)
  t.notOk(haystacks.some((text) => text.includes(prefix)), 'the URL template (and so every target URL) appears nowhere')
  t.notOk(haystacks.some((text) => /postgres(ql)?:\/\/[^\s"]*@/.test(text)), 'no URL with credentials appears')
})
