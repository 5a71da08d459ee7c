import path from 'node:path'
import t from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { queryDatabase } from '../helpers/databases.js'
import { PROJECT_ROOT, startHarness, tokenOf } from '../helpers/harness.js'
import { launchBrowser, openSignedIn } from './browser.js'

/**
 * The review page's "What it will do" section in a real browser (Debian's Chromium): a predicted
 * failure first, then the rehearsal's locks by table, rewrites and the schema diff. The screenshot
 * (test/artifacts/what-it-will-do.png) is the real example of a prediction.
 */

const ARTIFACTS = path.join(PROJECT_ROOT, 'test', 'artifacts')
const SECRET = 'row-value-4be1d0'

t.test('the review page shows what the plan will do, a predicted failure first', async (t) => {
  const h = await startHarness({
    environments: {
      production: {
        protected: true,
        approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
        health_check: { checks: ['connectivity'], timeout: '5s' },
        backup_before_migrate: false,
        // warn: the prediction goes to the approver instead of failing the deployment.
        rehearsal: { on_prediction: 'warn', copy_data_below: '0MB' }
      }
    }
  })
  t.teardown(h.close)
  await queryDatabase(h.targets.production as string, `
    CREATE TABLE "User" (id serial PRIMARY KEY, email text, name text);
    INSERT INTO "User" (email, name) SELECT CASE WHEN i % 100 = 0 THEN NULL ELSE '${SECRET}' || i END, 'name' FROM generate_series(1, 2000) AS i;`)
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as { port: number }
  const base = `http://127.0.0.1:${port}`

  const created = await h.request('POST', '/deployments', {
    body: {
      environment: 'production',
      migrations: [
        { name: '20250501000000_email_required', sql: 'ALTER TABLE "User" ALTER COLUMN email SET NOT NULL;\nSELECT pg_sleep(0.1);\n' },
        { name: '20250501000001_name_index', sql: 'CREATE INDEX "User_name_idx" ON "User" (name);\nALTER TABLE "User" ADD COLUMN score float8 DEFAULT random();\nSELECT pg_sleep(0.1);\n' }
      ]
    }
  })
  const deployment = await h.waitFor(created.json().id, ['pending_approval', 'failed']) as DeploymentResource
  t.equal(deployment.status, 'pending_approval', JSON.stringify(deployment.report))

  const browser = await launchBrowser()
  t.teardown(browser.close)
  const record = await openSignedIn(browser.context, base, tokenOf('alice'), { width: 1100, height: 900 })
  const { page } = record
  await page.goto(`${base}/ui#/deployments/${deployment.id}`)
  const section = page.locator('section.effects')
  await page.getByRole('heading', { name: 'What it will do' }).waitFor()
  t.equal(await section.getByRole('alert').locator('.predicted-failure').count(), 1, 'one predicted failure, shown as an alert')
  t.match(await section.locator('.predicted-failure').textContent(), /20250501000000_email_required, statement 1: 20 rows of "User" have NULL in "email"/)
  const order = await section.evaluate((el: { innerText: string }) => el.innerText)
  t.ok(order.indexOf('Predicted to fail') < order.indexOf('Locks by table'), 'predicted failures come first')
  t.match(await section.locator('table.locks').textContent(), /"User"\s*AccessExclusiveLock/)
  t.match(await section.locator('.rewrites').textContent(), /"User" \(20250501000001_name_index\)/)
  t.match(await section.locator('.schema-changes').textContent(), /added index public\."User_name_idx"/)
  t.notOk((await page.content()).includes(SECRET), 'no row value on the page')
  t.same(record.consoleErrors, [], 'no console error (a CSP violation would be one)')
  await page.screenshot({ path: path.join(ARTIFACTS, 'what-it-will-do.png'), fullPage: true })
})
