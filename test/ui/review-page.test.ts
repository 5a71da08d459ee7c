import { mkdirSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { databaseUrl } from '../helpers/databases.js'
import { PROJECT_ROOT, startHarness, tokenOf, type TokenName } from '../helpers/harness.js'
import { launchBrowser, openSignedIn, type PageRecord } from './browser.js'

// What the callbacks given to page.evaluate use: they run in the browser, while this file is
// typed without the DOM library (module-scoped, so nothing else sees these).
declare const document: {
  activeElement: { id: string; tagName: string; textContent: string | null; getAttribute: (name: string) => string | null } | null
  scripts: { length: number }
  documentElement: { scrollWidth: number }
}
declare const window: { innerWidth: number }
declare const sessionStorage: { getItem: (key: string) => string | null }
declare function getComputedStyle (element: unknown): { fontFamily: string }

/**
 * The release manager's page in a real browser (Debian's Chromium through playwright-core)
 * against a real service on a real port: sign in, review, approve, reject, follow.
 */

/** Screenshots land here (gitignored); CI can keep them as artifacts. */
export const ARTIFACTS = path.join(PROJECT_ROOT, 'test', 'artifacts')
mkdirSync(ARTIFACTS, { recursive: true })

const PROTECTED = { working_directory: 'app', protected: true, approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' }, health_check: { checks: ['connectivity'], timeout: '5s' } }
const h = await startHarness({
  environments: {
    staging: { working_directory: 'app' },
    // production shows a promotion gate; staging gets the same migrations first (below), so a
    // server that enforces the gate lets production through.
    production: { ...PROTECTED, requires_success_in: ['staging'] },
    // Environments of their own for the tests that apply, or upload inline SQL, so each test's
    // pending set does not depend on another's.
    canary: PROTECTED,
    sandbox: PROTECTED
  }
})
t.teardown(h.close)
await h.app.listen({ port: 0, host: '127.0.0.1' })
const { port } = h.app.server.address() as { port: number }
const BASE = `http://127.0.0.1:${port}`

const browser = await launchBrowser()
t.teardown(browser.close)

const staging = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
if ((await h.waitFor(staging.json().id, ['succeeded', 'failed'])).status !== 'succeeded') throw new Error('staging did not deploy')

async function pending (environment: string, as: TokenName = 'ci-bot', extra: Record<string, unknown> = {}): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { as, body: { environment, source: { commit: '9f3c2ab', ref: 'main', url: 'https://ci.example/run/42' }, ...extra } })
  if (created.statusCode !== 202) throw new Error(created.body)
  const deployment = await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
  if (deployment.status !== 'pending_approval') throw new Error(`expected pending_approval: ${JSON.stringify(deployment.report)}`)
  return deployment
}

/** Holds the migration lock of an environment's database (as a concurrent `prisma migrate deploy` would), so a test sees the deployment mid-flight. */
async function holdMigrationLock (environment: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: databaseUrl(h.targets[environment] as string) })
  await client.connect()
  await client.query('SELECT pg_advisory_lock(72707369)')
  let released = false
  return async () => {
    if (released) return
    released = true
    await client.query('SELECT pg_advisory_unlock(72707369)')
    await client.end()
  }
}

/** What must hold on every page: no dialog, no script error or CSP violation, nothing fetched from elsewhere, the token in no URL. */
function assertCleanPage (t: Test, record: PageRecord, token: string): void {
  t.same(record.dialogs, [], 'no dialog opened')
  t.same(record.consoleErrors, [], 'no console error (a CSP violation would be one)')
  const urls = record.requests.map((r) => r.url())
  t.ok(urls.length > 0)
  t.same(urls.filter((url) => !url.startsWith(`${BASE}/`)), [], 'every request goes to the service itself')
  t.same(urls.filter((url) => url.includes(token)), [], 'the token is in no URL')
  t.notOk(record.page.url().includes(token))
}

/** The "Review …" link of a pending deployment's card on the overview. */
const deploymentLink = (id: string): string => `.card a[href="#/deployments/${id}"]`

t.test('the requester, and a token without the approver role, see Approve and Reject disabled with the reason', async (t) => {
  const deployment = await pending('sandbox', 'carol', { migrations: [{ name: '20250301000000_notes', sql: 'CREATE TABLE notes (id serial PRIMARY KEY);\n' }] })
  t.teardown(async () => { await h.request('POST', `/deployments/${deployment.id}/cancel`, { as: 'carol' }) })

  // carol is an approver, but asked for this one herself. She works at phone width, with the keyboard.
  const page = await browser.context.newPage()
  t.teardown(() => page.close())
  await page.setViewportSize({ width: 375, height: 740 })
  await page.goto(`${BASE}/ui`)
  for (let i = 0; i < 5 && await page.evaluate(() => document.activeElement?.id) !== 'token'; i++) await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.id), 'token', 'the Token field is reached with Tab')
  await page.keyboard.type(tokenOf('carol'))
  await page.keyboard.press('Enter')
  await page.getByText('Signed in as carol (deployer, approver)').waitFor()
  await page.locator(deploymentLink(deployment.id)).waitFor()
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the overview does not scroll sideways at phone width')
  t.same(await page.locator('.table-wrap, .cards').evaluateAll((boxes) => boxes.filter((box) => box.scrollWidth > box.clientWidth).length), 0, 'nor does anything in it')
  let reached = false
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await page.evaluate((id) => document.activeElement?.getAttribute('href') === `#/deployments/${id}`, deployment.id)
  }
  t.ok(reached, 'the review link is reached with Tab')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'Deployment to sandbox' }).waitFor()
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling at phone width')

  const approve = page.getByRole('button', { name: 'Approve' })
  const reject = page.getByRole('button', { name: 'Reject' })
  t.ok(await approve.isDisabled(), 'Approve is disabled for the requester')
  t.ok(await reject.isDisabled(), 'Reject is disabled for the requester')
  t.equal(await page.locator('#decision-reason').textContent(), 'You (carol) requested this deployment, so another approver must review it.')
  t.equal(await approve.getAttribute('aria-describedby'), 'decision-reason', 'the reason is tied to the button for screen readers')
  t.ok(await page.getByLabel('Comment (optional)').isDisabled())

  // A viewer (no approver role) is told which role it would take.
  const viewer = await openSignedIn(browser.context, BASE, tokenOf('viewer'))
  t.teardown(() => viewer.page.close())
  await viewer.page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  await viewer.page.getByRole('heading', { name: 'Deployment to sandbox' }).waitFor()
  t.ok(await viewer.page.getByRole('button', { name: 'Approve' }).isDisabled())
  t.ok(await viewer.page.getByRole('button', { name: 'Reject' }).isDisabled())
  t.equal(await viewer.page.locator('#decision-reason').textContent(), 'viewer (viewer) may not approve or reject in sandbox: that needs the role approver or admin.')
  assertCleanPage(t, viewer, 'viewer-token')

  t.equal((await h.request('GET', `/deployments/${deployment.id}`)).json().status, 'pending_approval', 'still waiting for another approver')
})

// Before the approval test, which applies production's migrations.
t.test('an approver rejects with a reason', async (t) => {
  const deployment = await pending('production')
  const record = await openSignedIn(browser.context, BASE, tokenOf('bob'))
  const { page } = record
  t.teardown(() => page.close())
  await page.click(deploymentLink(deployment.id))
  await page.getByRole('button', { name: 'Reject' }).click()
  const dialog = page.getByRole('dialog', { name: 'Reject this deployment' })
  await dialog.waitFor()
  t.equal(await page.evaluate(() => document.activeElement?.id), 'reject-reason', 'the dialog opens on the Reason field')

  // No reason, no rejection: the dialog stays and nothing is sent.
  await dialog.getByRole('button', { name: 'Reject deployment' }).click()
  t.ok(await dialog.isVisible(), 'a rejection needs a reason')
  t.equal((await h.request('GET', `/deployments/${deployment.id}`)).json().status, 'pending_approval')

  await dialog.getByLabel('Reason').fill('Drops a column the app still reads')
  await dialog.getByRole('button', { name: 'Reject deployment' }).press('Enter')
  await page.locator('.status-slot [data-status="rejected"]').waitFor()
  t.equal(await page.locator('.notice').textContent(), 'Rejected. Nothing was applied.')
  t.equal(await page.locator('.report-headline').textContent(), 'Rejected by bob: Drops a column the app still reads')
  await page.locator('pre.log').getByText('REJECTED', { exact: false }).waitFor()

  const events = (await h.request('GET', `/deployments/${deployment.id}/events`)).json().events as Array<{ type: string, actor: string, data: { reason?: string } }>
  t.ok(events.some((e) => e.type === 'rejected' && e.actor === 'bob' && e.data.reason === 'Drops a column the app still reads'))
  assertCleanPage(t, record, 'bob-token')
})

t.test('SQL, names and sources are shown as text: a <script> in a migration runs nothing', async (t) => {
  const sql = "-- <script>alert(1)</script>\nCREATE TABLE pages (body text DEFAULT '<script>alert(1)</script>', note text DEFAULT '<img src=x onerror=alert(2)>');\n"
  const deployment = await pending('sandbox', 'ci-bot', {
    migrations: [{ name: '20250302000000_script_in_sql', sql }],
    source: { commit: '<b>bold</b>', ref: '<img src=x onerror=alert(3)>', url: 'javascript:alert(4)' }
  })
  t.teardown(async () => { await h.request('POST', `/deployments/${deployment.id}/cancel`, { as: 'ci-bot' }) })
  const record = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  const { page } = record
  t.teardown(() => page.close())
  await page.locator(`.card[data-deployment="${deployment.id}"]`).waitFor()
  await page.click(deploymentLink(deployment.id))
  const shown = page.locator('li.migration[data-migration="20250302000000_script_in_sql"] pre.sql')
  await shown.waitFor()
  t.equal(await shown.textContent(), sql, 'the SQL is shown literally')
  t.ok(await page.getByText("DEFAULT '<script>alert(1)</script>'", { exact: false }).isVisible(), 'the <script> is visible as text')
  t.match(await page.locator('.facts').first().textContent(), /<b>bold<\/b> on <img src=x onerror=alert\(3\)>/, 'the source is text too')
  t.equal(await page.evaluate(() => document.scripts.length), 1, 'no script element but the page\'s own')
  t.equal(await page.locator('img, b').count(), 0, 'no element made from the text')
  t.equal(await page.getByText('link', { exact: true }).evaluate((el) => el.tagName), 'SPAN', 'a javascript: URL is not made a link')
  assertCleanPage(t, record, 'alice-token')
})

t.test('squawk warnings and a promotion-gate result are shown when the API reports them', async (t) => {
  const deployment = await pending('sandbox', 'ci-bot', { migrations: [{ name: '20250303000000_drop_legacy', sql: 'CREATE TABLE legacy (id int);\nALTER TABLE legacy DROP COLUMN id;\n' }] })
  t.teardown(async () => { await h.request('POST', `/deployments/${deployment.id}/cancel`, { as: 'ci-bot' }) })
  const record = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  const { page } = record
  t.teardown(() => page.close())
  // The server reports what its version knows; the page renders whatever warnings and gate
  // result the resource carries. Add them to the real answer, as a server with squawk would send.
  await page.route(`**/deployments/${deployment.id}`, async (route) => {
    const response = await route.fetch()
    const body = await response.json()
    body.plan.migrations[0].warnings = [{ rule: 'ban-drop-column', message: 'Dropping a column may break existing clients.' }, { rule: 'prefer-robust-stmts', message: 'Missing IF NOT EXISTS, the migration can\'t be rerun if it fails part way through.' }]
    body.plan.promotion_gate = { requires_success_in: ['staging'], passed: true, missing: {}, message: 'staging applied the same checksums' }
    await route.fulfill({ response, json: body })
  })
  await page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  const warnings = page.locator('li.migration[data-migration="20250303000000_drop_legacy"] li.warning')
  await warnings.first().waitFor()
  t.equal(await warnings.count(), 2)
  t.match(await warnings.first().textContent(), /Warning: ban-drop-column Dropping a column may break existing clients\./)
  t.match(await page.locator('.pill-warning').textContent(), /2 warnings/)
  t.match(await page.locator('.callout-warning').textContent(), /2 squawk warnings/)
  t.equal(await page.locator('.gate-status').textContent(), 'Passed (requires staging): staging applied the same checksums')
  t.equal(await page.locator('.gate-status').getAttribute('class'), 'gate-status gate-passed')
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-page-warnings.png'), fullPage: true })
  assertCleanPage(t, record, 'alice-token')
})

t.test('live status reads Server-Sent Events through fetch, with the bearer header, then falls back to polling', async (t) => {
  const deployment = await pending('canary')
  const record = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  const { page } = record
  t.teardown(() => page.close())
  // This server's events endpoint answers JSON; stand in for one that streams, to prove the
  // page reads a stream when it gets one. The stream ends early, so the page must poll on.
  const streamRequests: Array<Record<string, string>> = []
  await page.route(`**/deployments/${deployment.id}/events`, async (route) => {
    streamRequests.push(route.request().headers())
    await route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
      body: ': keep-alive\n\nid: 1\nevent: step\ndata: {"type":"step_started","message":"Deploying migration 20250110090000_init"}\n\r\n' +
        'id: 2\ndata: {"type":"log",\ndata: "message":"✓ Verification: All migrations applied"}\n\n'
    })
  })
  await page.goto(`${BASE}/ui#/deployments/${deployment.id}`)
  const release = await holdMigrationLock('canary')
  t.teardown(release)
  await page.getByRole('button', { name: 'Approve' }).click()
  const live = page.locator('ol.live-events li')
  await live.nth(1).waitFor({ timeout: 60_000 })
  t.same(await live.allTextContents(), ['Deploying migration 20250110090000_init', '✓ Verification: All migrations applied'])
  t.equal(streamRequests.length, 1)
  t.equal(streamRequests[0]?.authorization, 'Bearer alice-token', 'the stream request carries the bearer header')
  t.equal(streamRequests[0]?.accept, 'text/event-stream')
  await page.locator('.live-mode').getByText('Live: checking every 1.5 s.').waitFor()
  await release()
  await page.locator('.status-slot [data-status="succeeded"]').waitFor({ timeout: 90_000 })
  assertCleanPage(t, record, 'alice-token')
})

t.test('an approver reviews a pending production deployment, approves it in the page and sees it succeed', async (t) => {
  const deployment = await pending('production')
  const record = await openSignedIn(browser.context, BASE, tokenOf('alice'))
  const { page } = record
  t.teardown(() => page.close())
  t.equal(await page.evaluate(() => sessionStorage.getItem('migration-deployer.token')), 'alice-token', 'the token is kept in sessionStorage')
  t.equal(await page.getByLabel('Token').isVisible(), false, 'the token field is put away once signed in')
  t.match(await page.getByText(/^Signed in as /).textContent(), 'Signed in as alice (approver)')

  // The overview: what waits in production, with who asked, from where, how old, how long left.
  const card = page.locator(`.card[data-deployment="${deployment.id}"]`)
  await card.waitFor()
  const cardText = await card.textContent() ?? ''
  t.match(cardText, /Requested by\s*ci-bot/)
  t.match(cardText, /9f3c2ab on main/)
  t.match(cardText, /Age\s*\d+ s ago/)
  t.match(cardText, /Time left\s*(59 min|1 h) left/)
  t.match(cardText, /Approvals\s*0 of 1/)
  t.equal(await card.getByRole('link', { name: 'link' }).getAttribute('href'), 'https://ci.example/run/42')
  t.match(await page.locator('#env-production').locator('xpath=..').textContent(), /promotion gate: staging first/)

  await page.click(deploymentLink(deployment.id))
  await page.getByRole('heading', { name: 'Deployment to production' }).waitFor()
  t.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new view\'s heading')

  // Every migration's SQL, exactly, in monospace; the checksum the approval binds to.
  const plan = deployment.plan as NonNullable<DeploymentResource['plan']>
  t.equal(await page.locator('.plan .checksum').textContent(), plan.checksum)
  t.equal(await page.locator('li.migration').count(), plan.migrations.length)
  for (const migration of plan.migrations) {
    const sql = page.locator(`li.migration[data-migration="${migration.name}"] pre.sql`)
    t.equal(await sql.textContent(), migration.sql, `${migration.name}: SQL shown exactly`)
    t.match(await sql.evaluate((el) => getComputedStyle(el).fontFamily), /mono/i, 'SQL in monospace')
  }
  // The gate's result, from the plan: staging got the same migrations first.
  t.equal(await page.locator('.gate-status').textContent(),
    `Passed (requires staging): all ${plan.migrations.length} pending migrations were applied in staging first`)
  t.match(await page.locator('.decision').textContent(), /0 of 1 approval · (59 min|1 h) left/)

  await page.screenshot({ path: path.join(ARTIFACTS, 'review-page.png'), fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling at phone width')
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-page-phone.png'), fullPage: false })
  await page.setViewportSize({ width: 1280, height: 900 })

  // Approve with the keyboard, while the database's migration lock is held elsewhere: the page
  // must show the deployment running, live, before it succeeds.
  const release = await holdMigrationLock('production')
  t.teardown(release)
  await page.getByLabel('Comment (optional)').focus()
  await page.keyboard.type('Read every statement')
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Approve', 'Tab from the comment reaches Approve')
  await page.keyboard.press('Enter')
  await page.locator('.status-slot [data-status="running"]').waitFor({ timeout: 60_000 })
  t.match(await page.locator('.notice').textContent(), /Approved/)
  t.match(await page.locator('.live-mode').textContent(), /Live: (checking every|streaming)/)
  t.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'nothing left to approve')
  await release()

  await page.locator('.status-slot [data-status="succeeded"]').waitFor({ timeout: 90_000 })
  await page.locator('pre.log').getByText('COMPLETED: Migration Deployer').waitFor()
  t.match(await page.locator('pre.log').textContent(), /✓ Approval confirmed \(alice\)/)
  t.equal(await page.locator('.report-headline').textContent(), `Successfully applied ${plan.migrations.length} migrations to production`)
  t.match(await page.locator('.decision').textContent(), /alice approved .* ago: “?Read every statement/)
  t.equal(await page.locator('.step[data-step="deploy"] .step-status').textContent(), 'passed')
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-page-succeeded.png'), fullPage: true })

  const after = (await h.request('GET', `/deployments/${deployment.id}`)).json()
  t.equal(after.status, 'succeeded')
  t.same(after.approval.approvals.map((a: { by: string, comment: string }) => [a.by, a.comment]), [['alice', 'Read every statement']])

  // Back on the overview: nothing waits in production, and the outcome is listed.
  await page.getByRole('link', { name: '← All deployments' }).click()
  const row = page.locator(`tr[data-deployment="${deployment.id}"]`)
  await row.waitFor()
  t.match(await row.textContent(), /succeeded/)
  t.match(await row.textContent(), /Successfully applied/)
  t.equal(await page.locator(`.card[data-deployment="${deployment.id}"]`).count(), 0)
  assertCleanPage(t, record, 'alice-token')
})
