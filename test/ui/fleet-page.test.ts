import path from 'node:path'
import t from 'tap'
import { databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { body, createCatalog, fleetEnvironment, M1 } from '../helpers/fleet-fixtures.js'
import { PROJECT_ROOT, startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { applyWithPrisma, tenantUrlTemplate, TenantDatabases } from '../helpers/tenant-databases.js'
import { launchBrowser, openSignedIn } from './browser.js'

/**
 * The review page's fleet view (SPEC §14, issue 21) in a real browser, for a real fleet deployment
 * of five tenant databases: the counts by status from the plan on, following the rollout live
 * over the event stream once it is approved elsewhere, and the targets that did not succeed with
 * why — one failed, one stale — by name, never by URL.
 */

const tenants = new TenantDatabases()
const names = (await tenants.clone(await tenants.template([]), 'md_tui', 5)).slice().sort()
const broken = names[1] as string
const stale = names[3] as string
await queryDatabase(broken, 'CREATE TABLE orders (id int)')
const catalog = await createCatalog({ page: names }, [])
const h = await startHarness({
  environments: {
    page: fleetEnvironment('page', {
      protected: true,
      approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
      rollout: { canary: 0, batch_size: 5, concurrency: 1, max_failures: 3 }
    }),
    solo: { health_check: { checks: ['connectivity'], timeout: '5s' }, backup_before_migrate: false }
  },
  env: { FLEET_CATALOG_URL: databaseUrl(catalog), FLEET_TENANT_URL: tenantUrlTemplate() }
})
t.teardown(async () => {
  await h.close()
  await tenants.drop()
  await dropDatabase(catalog)
})
const BASE = await listenOnLoopback(h)
const browser = await launchBrowser()
t.teardown(browser.close)

t.test('a fleet deployment: counts by status, live while it rolls out, and the targets that did not succeed with why', async (t) => {
  const created = await h.request('POST', '/deployments', { body: body('page') })
  const id = created.json().id as string
  t.equal((await h.waitFor(id, ['pending_approval', 'failed'])).status, 'pending_approval')

  const { page, consoleErrors } = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  t.teardown(() => page.close())
  await page.goto(`${BASE}/ui#/deployments/${id}`)
  await page.getByRole('heading', { name: 'Fleet: 5 targets' }).waitFor()
  const count = (status: string) => page.locator(`.fleet-counts [data-status="${status}"] .fleet-count-n`)
  t.same(await page.locator('.fleet-counts li').allTextContents(), ['5 pending', '0 running', '0 succeeded', '0 failed', '0 skipped'], 'all pending before the approval')
  t.equal(await page.locator('.fleet-done').textContent(), '0 of 5 targets done')
  await page.locator('.live-mode').getByText(/^Live: /).waitFor()

  // Between the plan and the approval, one target's history moves: it will be skipped as stale.
  await applyWithPrisma(stale, [M1])
  t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'bob', body: {} })).statusCode, 200)

  // The open page follows the rollout by itself, over the event stream.
  await page.locator('.status-slot [data-status="failed"]').waitFor({ timeout: 60_000 })
  await page.locator('.fleet-failed li').first().waitFor()
  await page.locator('.fleet-skipped li').first().waitFor()
  t.same(await Promise.all(['pending', 'running', 'succeeded', 'failed', 'skipped'].map(async (s) => await count(s).textContent())), ['0', '0', '3', '1', '1'],
    'the real counts: three succeeded, one failed, one stale')
  t.equal(await page.locator('.fleet-done').textContent(), '5 of 5 targets done')
  t.equal(await page.locator('.fleet-progress progress').getAttribute('value'), '5')

  t.equal(await page.getByRole('heading', { name: 'Failed targets (1)' }).count(), 1)
  const failed = page.locator('.fleet-failed li')
  t.equal(await failed.getAttribute('data-target'), broken)
  t.equal(await failed.locator('.fleet-target').textContent(), broken, 'the target by name')
  t.match(await failed.locator('.fleet-error').textContent(), /Migration 20250103000000_orders failed/, 'with its error')
  t.match(await page.locator('.fleet-skipped li').textContent(), new RegExp(`plan is stale.*\\(1\\)${stale}$`), 'the stale target, with why')

  const api = (await h.request('GET', `/deployments/${id}`, { as: 'viewer' })).json()
  t.same(api.summary, { total: 5, succeeded: 3, failed: 1, skipped: 1, running: 0, pending: 0 }, 'as the API counts them')
  const html = await page.content()
  t.notOk(/postgres(ql)?:\/\//.test(html), 'no target URL on the page')
  t.same(consoleErrors, [], 'no console error (a CSP violation would be one)')
  await page.screenshot({ path: path.join(PROJECT_ROOT, 'test', 'artifacts', 'fleet-view.png'), fullPage: true })
})

t.test('a deployment to one database has no fleet view', async (t) => {
  const created = await h.request('POST', '/deployments', { body: body('solo') })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded')
  const { page } = await openSignedIn(browser.context, BASE, tokenOf('viewer'))
  t.teardown(() => page.close())
  await page.goto(`${BASE}/ui#/deployments/${done.id}`)
  await page.getByRole('heading', { name: 'Deployment to solo' }).waitFor()
  await page.getByRole('heading', { name: 'Report' }).waitFor()
  t.equal(await page.locator('section.fleet').count(), 0)
})
