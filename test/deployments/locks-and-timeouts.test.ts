import pg from 'pg'
import t from 'tap'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'

t.test('a migration lock held by another session: a bounded wait, then an error naming the holder', async (t) => {
  const h = await startHarness({ environments: { staging: { working_directory: 'app', migration_lock_wait: '1s' } } })
  t.teardown(h.close)
  const holder = new pg.Client({ connectionString: databaseUrl(h.targets.staging as string), application_name: 'manual-prisma-migrate' })
  await holder.connect()
  t.teardown(async () => { await holder.end() })
  const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_advisory_lock(72707369)')
  const pid = rows[0]?.pid as number

  const created = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'failed')
  const report = done.report as { error: string, result: { lock_holders: Array<{ pid: number, application_name: string }> } }
  t.match(report.error, /timed out after 1s waiting for the migration lock/)
  t.match(report.error, new RegExp(`pid ${pid} \\(application "manual-prisma-migrate"`))
  t.same(report.result.lock_holders.map((l) => [l.pid, l.application_name]), [[pid, 'manual-prisma-migrate']])
  const deploy = done.steps.find((s) => s.name === 'deploy')
  t.equal(deploy?.status, 'failed')
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets.staging as string, `SELECT to_regclass('"User"') IS NOT NULL AS found`)
  t.equal(exists?.found, false, 'nothing applied')

  // Once the other session lets go, the next deployment goes through.
  await holder.query('SELECT pg_advisory_unlock(72707369)')
  const retry = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal((await h.waitFor(retry.json().id, ['succeeded', 'failed'])).status, 'succeeded')
})

t.test('statement_timeout and lock_timeout apply to each migration', async (t) => {
  const h = await startHarness({
    environments: {
      dev: { statement_timeout: '300ms' },
      staging: { lock_timeout: '300ms' }
    }
  })
  t.teardown(h.close)
  const slow = await h.request('POST', '/deployments', { body: { environment: 'dev', migrations: [{ name: '20250101000000_slow', sql: 'SELECT pg_sleep(2);' }] } })
  const slowDone = await h.waitFor(slow.json().id, ['succeeded', 'failed'])
  t.equal(slowDone.status, 'failed')
  t.match((slowDone.report as { result: { database_error: string } }).result.database_error, /statement timeout/)

  // A table locked by another session: the ALTER gives up after lock_timeout instead of queueing behind it.
  await queryDatabase(h.targets.staging as string, 'CREATE TABLE busy (id int)')
  const locker = new pg.Client({ connectionString: databaseUrl(h.targets.staging as string) })
  await locker.connect()
  t.teardown(async () => { await locker.end() })
  await locker.query('BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE')
  const blocked = await h.request('POST', '/deployments', { body: { environment: 'staging', migrations: [{ name: '20250101000000_alter_busy', sql: 'ALTER TABLE busy ADD COLUMN note text;' }] } })
  const blockedDone = await h.waitFor(blocked.json().id, ['succeeded', 'failed'])
  t.equal(blockedDone.status, 'failed')
  t.match((blockedDone.report as { result: { database_error: string } }).result.database_error, /lock timeout/)
  await locker.query('ROLLBACK')
})
