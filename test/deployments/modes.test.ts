import t from 'tap'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'

t.test('dev mode with reset_on_drift resets a drifted database and reapplies; deploy mode shows in report and log', async (t) => {
  const h = await startHarness({
    environments: {
      dev: { working_directory: 'app', reset_on_drift: true, protected: true, backup_before_migrate: true, backup: { provider: 'pg_dump', dir: t.testdir({}) } },
      staging: { working_directory: 'app' }
    }
  })
  t.teardown(h.close)
  const db = h.targets.dev as string
  const first = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const firstDone = await h.waitFor(first.json().id, ['succeeded', 'failed', 'pending_approval'])
  t.equal(firstDone.status, 'succeeded', 'dev mode skips approval even on a protected environment')
  t.equal(firstDone.mode, 'dev')
  t.equal(firstDone.steps.find((s) => s.name === 'backup')?.detail, 'dev mode skips backups')
  t.equal((firstDone.report as { mode: string }).mode, 'dev')

  await queryDatabase(db, `INSERT INTO "User" (email, "displayName") VALUES ('leftover@x', 'l')`)
  await queryDatabase(db, `UPDATE _prisma_migrations SET checksum = repeat('f', 64) WHERE migration_name = '20250113101500_add_posts'`)
  const preview = await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true } })
  const previewDone = await h.waitFor(preview.json().id, ['succeeded', 'failed'])
  t.equal(previewDone.status, 'succeeded')
  t.equal(previewDone.plan?.pending_migrations, 5, 'the preview shows every migration would be reapplied')
  t.match((await h.request('GET', `/deployments/${previewDone.id}/log`)).body, /a real deployment would reset the database/)
  t.equal((await queryDatabase<{ n: number }>(db, 'SELECT count(*)::int AS n FROM "User"'))[0]?.n, 1, 'the dry run reset nothing')

  const reset = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const resetDone = await h.waitFor(reset.json().id, ['succeeded', 'failed'])
  t.equal(resetDone.status, 'succeeded', JSON.stringify(resetDone.report))
  t.equal((resetDone.report as { result: { migrations_applied: number } }).result.migrations_applied, 5)
  t.equal((await queryDatabase<{ n: number }>(db, 'SELECT count(*)::int AS n FROM "User"'))[0]?.n, 0, 'the database was reset')
  t.equal((await h.request('GET', '/environments/dev/status')).json().up_to_date, true)
  const events = (await h.request('GET', `/deployments/${resetDone.id}/events`)).json().events as Array<{ type: string }>
  t.ok(events.some((e) => e.type === 'database_reset'))

  const staging = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  const stagingDone = await h.waitFor(staging.json().id, ['succeeded', 'failed'])
  t.equal(stagingDone.mode, 'deploy')
  t.equal((stagingDone.report as { mode: string }).mode, 'deploy')
  // One label per mode, whether the environment is protected or not (issue 16).
  t.match((await h.request('GET', `/deployments/${stagingDone.id}/log`)).body, /^Mode: deploy \(production mode\)$/m)
})

t.test('reset_on_drift is refused outside dev mode at config load', async (t) => {
  const { parseConfig } = await import('../../src/config/load.js')
  t.throws(() => parseConfig({ environments: { production: { database_url_env: 'X', reset_on_drift: true } } }, '/'), /environments\.production\.reset_on_drift: reset_on_drift is allowed only in dev mode/)
})
