import t from 'tap'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'

t.test('environment status, drift and resolve, like prisma migrate status/resolve', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const db = h.targets.staging as string

  const fresh = await h.request('GET', '/environments/staging/status', { as: 'viewer' })
  t.equal(fresh.statusCode, 200, fresh.body)
  t.equal(fresh.json().up_to_date, false)
  t.equal(fresh.json().history_table_exists, false)
  t.equal(fresh.json().pending.length, 5)
  t.notMatch(fresh.body, /postgres(ql)?:\/\//, 'no URL in the status')

  const deployed = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal((await h.waitFor(deployed.json().id, ['succeeded', 'failed'])).status, 'succeeded')
  const clean = (await h.request('GET', '/environments/staging/status')).json()
  t.equal(clean.up_to_date, true)
  t.equal(clean.applied.length, 5)
  t.same(clean.pending, [])
  t.equal((await h.request('GET', '/environments/nowhere/status')).statusCode, 404)

  // Drift: the applied file no longer matches what was applied.
  const [second] = await queryDatabase<{ migration_name: string }>(db, `SELECT migration_name FROM _prisma_migrations ORDER BY started_at OFFSET 1 LIMIT 1`)
  const name = second?.migration_name as string
  await queryDatabase(db, `UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = $1`, [name])
  const drifted = (await h.request('GET', '/environments/staging/status')).json()
  t.equal(drifted.up_to_date, false)
  t.same(drifted.drifted.map((d: { name: string, reason: string }) => [d.name, d.reason]), [[name, 'checksum_changed']])
  const blocked = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next' } })
  const failed = await h.waitFor(blocked.json().id, ['succeeded', 'failed'])
  t.equal(failed.status, 'failed', 'deploy mode fails on drift')
  const report = failed.report as { error: string, result: { health_check?: string, details?: Array<{ check: string, passed: boolean, message: string }> } }
  t.equal(report.error, 'Pre-deployment health check failed')
  t.equal(report.result.health_check, 'failed')
  t.ok(report.result.details?.some((d) => d.check === 'migrations' && !d.passed && d.message.includes(name)))
  t.equal((await queryDatabase<{ n: number }>(db, 'SELECT count(*)::int AS n FROM _prisma_migrations'))[0]?.n, 5, 'nothing applied on top of drift')

  // Even with the health check skipped, deploy mode refuses drift.
  const skipped = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next', skip_health_check: true } })
  const skippedDone = await h.waitFor(skipped.json().id, ['succeeded', 'failed'])
  t.equal(skippedDone.status, 'failed')
  t.match((skippedDone.report as { error: string }).error, /^Drift detected: /)
  await queryDatabase(db, `UPDATE _prisma_migrations SET checksum = $2 WHERE migration_name = $1`, [name, clean.applied[1].checksum])

  // A failed row (what a failed non-transactional migration leaves) blocks deploys until resolved.
  await queryDatabase(db, `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count) VALUES (gen_random_uuid()::text, repeat('a', 64), '20250124140000_add_user_profiles', 'ERROR: boom', now(), 0)`)
  const withFailed = (await h.request('GET', '/environments/staging/status')).json()
  t.same(withFailed.failed.map((f: { name: string }) => f.name), ['20250124140000_add_user_profiles'])
  t.match(withFailed.failed[0].resolve, /resolve/)
  const stuck = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next', skip_health_check: true } })
  const stuckDone = await h.waitFor(stuck.json().id, ['succeeded', 'failed'])
  t.equal(stuckDone.status, 'failed')
  t.match((stuckDone.report as { error: string }).error, /failed in an earlier deployment and is not resolved/)

  const resolveUrl = '/environments/staging/migrations/20250124140000_add_user_profiles/resolve'
  t.equal((await h.request('POST', resolveUrl, { as: 'ci-bot', body: { as: 'rolled_back' } })).statusCode, 403)
  t.equal((await h.request('POST', resolveUrl, { as: 'alice', body: { as: 'sideways' } })).statusCode, 400)
  t.equal((await h.request('POST', '/environments/nowhere/migrations/x/resolve', { as: 'alice', body: { as: 'applied' } })).statusCode, 404)
  const resolved = await h.request('POST', resolveUrl, { as: 'alice', body: { as: 'rolled_back' } })
  t.equal(resolved.statusCode, 200, resolved.body)
  t.same(resolved.json(), { environment: 'staging', migration: '20250124140000_add_user_profiles', resolved_as: 'rolled_back', rows_changed: 1 })
  t.equal((await h.request('POST', resolveUrl, { as: 'alice', body: { as: 'rolled_back' } })).statusCode, 409, 'nothing failed any more')
  const rolledBack = await queryDatabase<{ rolled_back_at: Date | null }>(db, `SELECT rolled_back_at FROM _prisma_migrations WHERE migration_name = '20250124140000_add_user_profiles'`)
  t.ok(rolledBack[0]?.rolled_back_at instanceof Date)

  const next = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next' } })
  const nextDone = await h.waitFor(next.json().id, ['succeeded', 'failed'])
  t.equal(nextDone.status, 'succeeded', JSON.stringify(nextDone.report))
  t.same((nextDone.report as { result: { migrations: Array<{ name: string }> } }).result.migrations.map((m) => m.name), ['20250124140000_add_user_profiles'])
  t.equal((await h.request('POST', resolveUrl, { as: 'alice', body: { as: 'applied' } })).statusCode, 409, 'already applied')

  const [audit] = await queryDatabase<{ type: string, actor: string, environment: string, data: { migration: string, as: string } }>(h.runtime.settings.databaseUrl.split('/').pop() as string,
    `SELECT type, actor, environment, data FROM deployment_events WHERE type = 'migration_resolved'`)
  t.same(audit, { type: 'migration_resolved', actor: 'alice', environment: 'staging', data: { migration: '20250124140000_add_user_profiles', as: 'rolled_back', rows_changed: 1 } })
})

t.test('resolve as applied records the migration with its file\'s checksum', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const db = h.targets.dev as string
  await queryDatabase(db, `CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`)
  await queryDatabase(db, `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x1', repeat('b', 64), '20250110090000_init')`)
  const response = await h.request('POST', '/environments/dev/migrations/20250110090000_init/resolve', { as: 'admin', body: { as: 'applied' } })
  t.equal(response.statusCode, 200, response.body)
  const rows = await queryDatabase<{ checksum: string, finished_at: Date | null, rolled_back_at: Date | null, applied_steps_count: number }>(db, `SELECT checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY started_at, id`)
  t.equal(rows.length, 2)
  const status = (await h.request('GET', '/environments/dev/status')).json()
  t.same(status.applied.map((m: { name: string }) => m.name), ['20250110090000_init'])
  t.same(status.failed, [])
  t.equal(status.pending.length, 4)
  t.equal((await h.request('POST', '/environments/dev/migrations/29990101000000_nope/resolve', { as: 'admin', body: { as: 'applied' } })).statusCode, 404, 'unknown migration')
})

t.test('custom SQL checks and an unreachable target fail the pre-deployment health check', async (t) => {
  const h = await startHarness({
    environments: {
      dev: { working_directory: 'app', health_check: { checks: ['connectivity', 'schema', 'migrations'], sql: [{ name: 'app_ready', query: 'SELECT false' }] } },
      staging: { working_directory: 'app', database_url_env: 'UNREACHABLE_DATABASE_URL', health_check: { timeout: '2s' } }
    }
  })
  t.teardown(h.close)
  h.runtime.pipeline.env.UNREACHABLE_DATABASE_URL = 'postgres://nobody:s3cret-pass@127.0.0.1:1/none'

  const custom = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const customDone = await h.waitFor(custom.json().id, ['succeeded', 'failed'])
  t.equal(customDone.status, 'failed')
  const customReport = customDone.report as { error: string, result: { health_check: string, details: Array<{ check: string, passed: boolean }> } }
  t.equal(customReport.error, 'Pre-deployment health check failed')
  t.same(customReport.result.details.find((d) => d.check === 'sql:app_ready')?.passed, false)
  t.notOk(customDone.steps.some((s) => s.name === 'deploy'), 'nothing else ran')

  const down = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  const downDone = await h.waitFor(down.json().id, ['succeeded', 'failed'])
  t.equal(downDone.status, 'failed')
  const downReport = downDone.report as {
    status: string
    error: string
    result: { health_check: string; details: Array<{ check: string; passed: boolean; message: string }> }
    recovery: { suggestions: string[] }
  }
  t.equal(downReport.status, 'error')
  t.equal(downReport.error, 'Pre-deployment health check failed')
  t.equal(downReport.result.health_check, 'failed')
  t.equal(downReport.result.details[0]?.check, 'connectivity')
  t.equal(downReport.result.details[0]?.passed, false)
  t.ok(downReport.recovery.suggestions.length > 0)
  const everything = JSON.stringify(downDone) + (await h.request('GET', `/deployments/${downDone.id}/log`)).body + h.logLines.join('')
  t.notMatch(everything, /s3cret-pass/, 'the password never appears')
})

t.test('estimates come from the same migration measured in an earlier environment', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const before = await h.request('POST', '/deployments', { body: { environment: 'production', dry_run: true } })
  const guessed = await h.waitFor(before.json().id, ['succeeded'])
  t.ok(guessed.plan?.migrations.every((m) => m.estimate_basis === 'size-based guess'))
  const staging = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  await h.waitFor(staging.json().id, ['succeeded'])
  const after = await h.request('POST', '/deployments', { body: { environment: 'production', dry_run: true } })
  const measured = await h.waitFor(after.json().id, ['succeeded'])
  t.ok(measured.plan?.migrations.every((m) => m.estimate_basis === 'measured in staging'), JSON.stringify(measured.plan?.migrations.map((m) => m.estimate_basis)))
  const report = measured.report as { result: { migrations: Array<{ estimate_basis: string }> } }
  t.equal(report.result.migrations[0]?.estimate_basis, 'measured in staging')
})
