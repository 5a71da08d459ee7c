import t from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { startHarness, tokenOf, type TokenName } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { launchBrowser, openSignedIn } from './browser.js'

// What page.evaluate callbacks use: they run in the browser, while this file is typed without the DOM library.
declare const document: { documentElement: { scrollWidth: number } }
declare const window: { innerWidth: number }

/**
 * The review page keeps up by itself (issue 15 item 6, issue 16 item 8): a decision someone else
 * takes shows without a reload, every streamed event reads as a sentence, the promotion-gate
 * panel shows the plan's result, and the requester (or an admin) can cancel from the page.
 */

const PROTECTED = {
  working_directory: 'app',
  protected: true,
  approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
  health_check: { checks: ['connectivity'], timeout: '5s' }
}
const h = await startHarness({
  environments: {
    staging: { working_directory: 'app' },
    production: { ...PROTECTED, requires_success_in: ['staging'] },
    canary: PROTECTED
  }
})
t.teardown(h.close)
const BASE = await listenOnLoopback(h)
const browser = await launchBrowser()
t.teardown(browser.close)

async function pending (environment: string, as: TokenName = 'ci-bot', extra: Record<string, unknown> = {}): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { as, body: { environment, ...extra } })
  if (created.statusCode !== 202) throw new Error(created.body)
  const deployment = await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
  if (deployment.status !== 'pending_approval') throw new Error(`expected pending_approval: ${JSON.stringify(deployment.report)}`)
  return deployment
}

const staging = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
if ((await h.waitFor(staging.json().id, ['succeeded', 'failed'])).status !== 'succeeded') throw new Error('staging did not deploy')

// First, while production is still empty (an upload of one new migration is then its whole source).
t.test('a plan the gate refuses shows the refusal from the plan', async (t) => {
  const upload = [{ name: '20250403000000_only_here', sql: 'CREATE TABLE only_here (id int);\n' }]
  const created = await h.request('POST', '/deployments', { body: { environment: 'production', migrations: upload } })
  const failed = await h.waitFor(created.json().id, ['failed', 'succeeded', 'pending_approval'])
  t.equal(failed.status, 'failed')
  t.same(failed.plan?.promotion_gate, {
    requires_success_in: ['staging'],
    passed: false,
    missing: { staging: ['20250403000000_only_here'] },
    message: 'not yet applied in staging: 20250403000000_only_here'
  })
  const { page } = await openSignedIn(browser.context, BASE, tokenOf('viewer'))
  t.teardown(() => page.close())
  await page.goto(`${BASE}/ui#/deployments/${failed.id}`)
  await page.getByRole('heading', { name: 'Deployment to production' }).waitFor()
  t.equal(await page.locator('.gate-status').textContent(), 'Failed (requires staging): not yet applied in staging: 20250403000000_only_here')
})

t.test('another approver approves elsewhere: the open page follows by itself, in sentences, with the gate from the plan', async (t) => {
  const deployment = await pending('production')
  const { page, consoleErrors } = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  t.teardown(() => page.close())
  await page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  await page.getByRole('heading', { name: 'Deployment to production' }).waitFor()
  t.equal(await page.locator('.gate-status').textContent(), 'Passed (requires staging): all 5 pending migrations were applied in staging first',
    'the gate panel says what the plan says')
  t.equal(await page.locator('.gate-status').getAttribute('class'), 'gate-status gate-passed')
  t.match(await page.locator('pre.log').textContent(), /✓ Promotion gate: all 5 pending migrations were applied in staging first/, 'as the log does')
  await page.locator('.live-mode').getByText(/^Live: /).waitFor()

  const approved = await h.request('POST', `/deployments/${deployment.id}/approve`, { as: 'bob', body: { comment: 'LGTM' } })
  t.equal(approved.statusCode, 200, 'bob approves through the API')
  await page.locator('.status-slot [data-status="succeeded"]').waitFor({ timeout: 90_000 })
  t.equal(await page.locator('.notice').textContent(), 'Approved by bob. The deployment is released to apply; its progress follows below.')
  t.match(await page.locator('.decision').textContent(), /bob approved .* ago: “?LGTM/)
  t.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'nothing left to decide')

  const lines = await page.locator('ol.live-events li').allTextContents()
  t.ok(lines.length > 5, `${lines.length} live lines`)
  t.same(lines.filter((line) => /[{}]|^\w+: \{/.test(line)), [], 'no raw event object')
  t.ok(lines.includes('Approved by bob: “LGTM”'), 'the approval, in words')
  t.ok(lines.includes('Status: pending approval → queued'), 'the release, in words')
  t.ok(lines.some((line) => line.startsWith('✓ Deploying migration: 20250110090000_init')), 'log lines as the log has them')
  // Long words in the lines (the plan's checksum) wrap: nothing scrolls sideways at phone width.
  await page.setViewportSize({ width: 390, height: 844 })
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling at phone width')
  t.same(consoleErrors, [])
})

t.test('another approver rejects elsewhere: the open page shows it and closes the decision', async (t) => {
  const deployment = await pending('canary', 'ci-bot', { migrations: [{ name: '20250401000000_widgets', sql: 'CREATE TABLE widgets (id serial);\n' }] })
  const { page } = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  t.teardown(() => page.close())
  await page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  await page.getByRole('button', { name: 'Approve' }).waitFor()
  await page.locator('.live-mode').getByText(/^Live: /).waitFor()
  await h.request('POST', `/deployments/${deployment.id}/reject`, { as: 'bob', body: { reason: 'not this week' } })
  await page.locator('.status-slot [data-status="rejected"]').waitFor({ timeout: 30_000 })
  t.equal(await page.locator('.notice').textContent(), 'Rejected by bob: not this week. Nothing was applied.')
  t.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0)
  t.equal(await page.locator('.gate-status').textContent(), 'No promotion gate: canary does not require an earlier environment.')
})

t.test('the requester cancels from the page; an approver sees no Cancel, an admin does', async (t) => {
  const deployment = await pending('canary', 'ci-bot', { migrations: [{ name: '20250402000000_gadgets', sql: 'CREATE TABLE gadgets (id serial);\n' }] })
  const alice = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  t.teardown(() => alice.page.close())
  await alice.page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  await alice.page.getByRole('button', { name: 'Approve' }).waitFor()
  t.equal(await alice.page.getByRole('button', { name: 'Cancel deployment' }).count(), 0, 'an approver who did not ask for it cannot cancel it')
  const admin = await openSignedIn(browser.context, BASE, tokenOf('admin'))
  t.teardown(() => admin.page.close())
  await admin.page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  await admin.page.getByRole('button', { name: 'Cancel deployment' }).waitFor()

  const { page, dialogs, consoleErrors } = await openSignedIn(browser.context, BASE, tokenOf('ci-bot'))
  t.teardown(() => page.close())
  await page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  t.match(await page.locator('section.cancel').textContent(), /You requested it, so you may cancel it while it is pending approval\./)
  await page.getByRole('button', { name: 'Cancel deployment' }).click()
  const dialog = page.getByRole('dialog', { name: 'Cancel this deployment?' })
  await dialog.waitFor()
  await dialog.getByRole('button', { name: 'Keep it' }).click()
  t.equal((await h.request('GET', `/deployments/${deployment.id}`)).json().status, 'pending_approval', '"Keep it" sends nothing')
  await page.getByRole('button', { name: 'Cancel deployment' }).click()
  await dialog.getByRole('button', { name: 'Yes, cancel it' }).click()
  await page.locator('.status-slot [data-status="cancelled"]').waitFor()
  t.equal(await page.locator('.notice').textContent(), 'Cancelled. Nothing was applied.')
  t.equal(await page.getByRole('button', { name: 'Cancel deployment' }).count(), 0)
  t.equal(await page.locator('.step[data-step="approval"] .step-status').textContent(), 'skipped', 'the wait for approval is over, not still running')
  const after = (await h.request('GET', `/deployments/${deployment.id}`)).json()
  t.equal(after.status, 'cancelled')
  t.same(dialogs, [], 'the page\'s own dialog, no browser confirm()')
  t.same(consoleErrors, [])
  // The approver's open page learns of it by itself.
  await alice.page.locator('.status-slot [data-status="cancelled"]').waitFor({ timeout: 30_000 })
  t.equal(await alice.page.locator('.notice').textContent(), 'Cancelled by ci-bot. Nothing was applied.')
})
