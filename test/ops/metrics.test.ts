import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { startMetricsServer } from '../../src/metrics/metrics-server.js'
import { createScrapeRegistry } from '../../src/metrics/scrape.js'
import { PROJECT_ROOT, startHarness, tokenOf } from '../helpers/harness.js'

t.test('/metrics: state gauges read at scrape time, queue depth, default process metrics, behind a token', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  t.equal((await h.request('GET', '/metrics', { as: null })).statusCode, 401, 'a token is needed, like every route')

  const id = (await h.request('POST', '/deployments', { body: { environment: 'production' } })).json().id as string
  await h.waitFor(id, ['pending_approval'])
  const pending = await h.request('GET', '/metrics', { as: 'viewer' })
  t.equal(pending.statusCode, 200)
  t.match(pending.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(pending.body, /migration_deployer_pending_approvals\{environment="production"\} 1\n/)
  t.match(pending.body, /migration_deployer_pending_approvals\{environment="staging"\} 0\n/)
  t.match(pending.body, /migration_deployer_deployments_in_progress\{environment="production",status="pending_approval"\} 1\n/)
  t.match(pending.body, /migration_deployer_queue_jobs\{queue="deployments",state="waiting"\} \d+\n/)
  t.match(pending.body, /migration_deployer_queue_jobs\{queue="webhooks",state="waiting"\} 0\n/)
  t.match(pending.body, /# TYPE migration_deployer_process_cpu_user_seconds_total counter/, 'default process metrics')
  t.match(pending.body, /# TYPE migration_deployer_pipeline_duration_seconds histogram/)
  t.match(pending.body, /# TYPE migration_deployer_migration_duration_seconds histogram/)

  await h.request('POST', `/deployments/${id}/reject`, { as: 'alice', body: { reason: 'no' } })
  const after = await h.request('GET', '/metrics', { as: 'viewer' })
  t.match(after.body, /migration_deployer_pending_approvals\{environment="production"\} 0\n/, 'the gauge follows the control database')

  // A worker-only process serves the same registry on METRICS_PORT, behind the same tokens.
  const server = await startMetricsServer({
    registry: createScrapeRegistry({ pool: h.runtime.pool, queues: { deployments: h.runtime.queue }, environments: ['production'] }),
    tokens: [{ name: 'viewer', roles: ['viewer'], sha256: createHash('sha256').update(tokenOf('viewer')).digest('hex') }],
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' })
  })
  t.teardown(server.close)
  const denied = await fetch(`http://127.0.0.1:${server.port}/metrics`)
  t.equal(denied.status, 401)
  await denied.body?.cancel()
  const scraped = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: `Bearer ${tokenOf('viewer')}` } })
  t.equal(scraped.status, 200)
  t.match(await scraped.text(), /migration_deployer_pending_approvals\{environment="production"\} 0\n/)
})

t.test('a running server serves the committed OpenAPI document and the docs UI without a token', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const served = await h.request('GET', '/openapi.json', { as: null })
  t.equal(served.statusCode, 200)
  t.same(served.json(), JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'openapi/openapi.json'), 'utf8')), 'what /openapi.json serves is what is committed')
  const docs = await h.request('GET', '/docs/', { as: null })
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
})
