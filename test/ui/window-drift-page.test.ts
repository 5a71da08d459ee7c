import pg from 'pg'
import t from 'tap'
import { checkDrift } from '../../src/pipeline/drift-check.js'
import { databaseUrl } from '../helpers/databases.js'
import { startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { launchBrowser, openSignedIn } from './browser.js'

/**
 * The review page shows SPEC §15's states (issue 22): a deployment waiting for its window, with
 * when it starts by itself and an admin's override with a reason; and the drift watch of the
 * deployment's environment, with the objects that changed, by name.
 */

// A freeze until 2099 (whatever today is), and the drift watch on the same environment.
const h = await startHarness({
  environments: {
    frozen: {
      working_directory: 'app',
      drift_check: { every: '15m' },
      windows: { timezone: 'UTC', deny: [{ from: '2000-01-01 00:00', to: '2099-01-01 00:00', reason: 'test freeze' }] }
    }
  }
})
t.teardown(h.close)
const BASE = await listenOnLoopback(h)
const browser = await launchBrowser()
t.teardown(browser.close)
const target = new pg.Client({ connectionString: databaseUrl(h.targets.frozen as string) })
await target.connect()
t.teardown(async () => { await target.end() })

t.test('waiting for the window: when it starts, and the drift watch of its environment; an admin overrides with a reason', async (t) => {
  t.match(await checkDrift(h.runtime.pipeline, 'frozen'), { outcome: 'no_baseline' })
  await target.query('CREATE TABLE hotfix_by_hand (id int)')
  t.match(await checkDrift(h.runtime.pipeline, 'frozen'), { outcome: 'drifted' })
  const created = await h.request('POST', '/deployments', { body: { environment: 'frozen' } })
  const waiting = await h.waitFor(created.json().id, ['waiting_for_window', 'failed', 'succeeded'])
  t.equal(waiting.status, 'waiting_for_window')

  const viewer = await openSignedIn(browser.context, BASE, tokenOf('viewer'))
  t.teardown(() => viewer.page.close())
  await viewer.page.goto(`${BASE}/ui#/deployments/${waiting.id}`)
  await viewer.page.getByRole('heading', { name: 'Waiting for the deployment window' }).waitFor()
  t.equal(await viewer.page.locator('.status-slot [data-status]').textContent(), 'waiting for window')
  t.match(await viewer.page.locator('.window-wait').textContent(), /^Approved; frozen is outside its deployment window now\. It starts by itself at .+ \(in \d+ d( \d+ h)?\)\.$/)
  t.equal(await viewer.page.locator('.next-window').getAttribute('datetime'), '2099-01-01T00:00:00.000Z')
  t.equal(await viewer.page.getByRole('button', { name: /override the window/ }).count(), 0, 'a viewer cannot override')
  await viewer.page.locator('[data-drift="drifted"]').waitFor()
  t.match(await viewer.page.locator('[data-drift="drifted"]').textContent(), /^Drifted: 2 objects changed outside the deployer since .+ ago, compared with the watch's first reading/)
  t.same(await viewer.page.locator('.drift-changes li').allTextContents(), ['column public.hotfix_by_hand.id added', 'table public.hotfix_by_hand added'])
  t.same(viewer.consoleErrors, [])

  const admin = await openSignedIn(browser.context, BASE, tokenOf('admin'))
  t.teardown(() => admin.page.close())
  await admin.page.goto(`${BASE}/ui#/deployments/${waiting.id}`)
  const override = admin.page.getByRole('button', { name: 'Start now (override the window)' })
  await override.click()
  t.equal(await admin.page.locator('.override-window .error').textContent(), 'Say why it may not wait for its window.', 'a reason is required')
  await admin.page.getByLabel('Reason (audited, sent to the webhooks)').fill('INC-4711 hotfix')
  await override.click()
  await admin.page.locator('.status-slot [data-status="succeeded"]').waitFor({ timeout: 90_000 })
  t.equal(await admin.page.locator('.window-overridden').textContent().then((text) => text?.replace(/ at .+: /, ' at …: ')), 'Overridden by admin at …: INC-4711 hotfix')
  t.match((await h.request('GET', `/deployments/${waiting.id}`)).json(), { status: 'succeeded', window_override: { by: 'admin', reason: 'INC-4711 hotfix' } })
})

t.test('GET /environments/:name/drift: the state, and the last checks newest first; the deployment left a new baseline', async (t) => {
  const drift = await h.request('GET', '/environments/frozen/drift', { as: 'viewer' })
  t.equal(drift.statusCode, 200)
  t.match(drift.json(), { environment: 'frozen', every_seconds: 900, drift_watch: { state: 'clean', changes: [] }, checks: [{ outcome: 'drifted', changes: 2 }, { outcome: 'no_baseline' }] })
  t.equal((await h.request('GET', '/environments/nowhere/drift', { as: 'viewer' })).statusCode, 404)
})
