import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { until } from '../helpers/until.js'
import { startOwnPostgres } from './helpers/own-postgres.js'

const environments = { staging: { working_directory: 'app', health_check: { checks: ['connectivity'], timeout: '5s' } } }

t.test('control database stopped: writes and reads get a clear 503, /readyz is 503; started again: everything recovers without a restart', async (t) => {
  const server = await startOwnPostgres()
  await server.createDatabase('control')
  const h = await startHarness({ environments, controlDatabaseUrl: server.url('control') })
  t.teardown(async () => {
    await server.start().catch(() => {})
    await h.close()
    await server.close()
  })

  const before = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal(before.statusCode, 202)
  t.equal((await h.waitFor(before.json().id, ['succeeded', 'failed'])).status, 'succeeded', 'works before the outage')

  await server.stop()

  const refused = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next' } })
  t.equal(refused.statusCode, 503, refused.body)
  t.equal(refused.json().error.code, 'SERVICE_UNAVAILABLE')
  t.match(refused.json().error.message, /^the control database is unavailable \(.+\): the request could not be completed; retry shortly/)
  t.same(refused.json().error.details, { dependency: 'control_database' })
  t.equal(refused.headers['retry-after'], '5')
  t.notMatch(refused.body, /postgres:\/\/|127\.0\.0\.1/, 'no address or credentials in the message')
  t.equal((await h.request('GET', `/deployments/${before.json().id as string}`)).statusCode, 503, 'reads too')
  const notReady = await h.request('GET', '/readyz', { as: null })
  t.equal(notReady.statusCode, 503)
  t.same(notReady.json().checks, { control_database: 'unavailable', redis: 'ok' })
  t.equal((await h.request('GET', '/healthz', { as: null })).statusCode, 200, 'the process itself is alive')

  await server.start()
  // The pool drops its dead connections and opens new ones: no restart.
  await until(async () => (await h.request('GET', '/readyz', { as: null })).statusCode === 200 ? true : undefined, '/readyz to recover', 30_000, 100)
  const after = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next' } })
  t.equal(after.statusCode, 202, after.body)
  const done = await h.waitFor(after.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', 'the worker recovered too')
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 1)
})
