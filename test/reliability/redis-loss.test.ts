import t from 'tap'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import { deploymentJobId } from '../../src/queue/deployment-jobs.js'
import { startReconciler, createDeploymentWorker } from '../../src/worker.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { startOwnRedis } from './helpers/own-redis.js'

const environments = { staging: { working_directory: 'app', health_check: { checks: ['connectivity'], timeout: '5s' } } }

/** A worker and a fast reconciler on the harness's queue, as `migration-deployer worker` runs them. */
function startWorker (h: Harness): { stop: () => Promise<void> } {
  const worker = createDeploymentWorker(h.runtime.pipeline, {
    queueName: h.runtime.settings.queueName,
    connection: redisConnectionOptions(h.runtime.settings.redisUrl),
    concurrency: 2
  })
  const reconciler = startReconciler(h.runtime.pipeline, 200)
  return { stop: async () => { await reconciler.stop(); await worker.close() } }
}

t.test('FLUSHALL right after POST: the deployment still completes', async (t) => {
  const redis = await startOwnRedis()
  const h = await startHarness({ environments, worker: false, redisUrl: redis.url })
  // eslint-disable-next-line prefer-const -- assigned once the teardown that stops it is registered
  let worker: { stop: () => Promise<void> } | undefined
  t.teardown(async () => {
    await worker?.stop()
    await h.close()
    await redis.close()
  })

  // Flushed before any worker saw it: the job is gone, the row is the only record.
  const before = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal(before.statusCode, 202)
  await redis.flushAll()
  t.equal(await h.runtime.queue.getJob(deploymentJobId(before.json().id, 'plan')), undefined, 'the job is gone')
  worker = startWorker(h)
  t.equal((await h.waitFor(before.json().id, ['succeeded', 'failed'])).status, 'succeeded', 'the reconciler enqueued it again')

  // Flushed while a worker is running: whatever the worker had taken or not, it completes.
  const during = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'app-next' } })
  await redis.flushAll()
  const done = await h.waitFor(during.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  const lines = (await h.request('GET', `/deployments/${during.json().id as string}/log`)).body.split('\n')
  t.equal(lines.filter((line) => line.startsWith('✓ Deploying migration: 20250124140000_add_user_profiles')).length, 1, 'applied once')
})

t.test('Redis down: POST still records the deployment and says so; the reconciler enqueues it when Redis is back', async (t) => {
  const redis = await startOwnRedis()
  const h = await startHarness({ environments, worker: false, redisUrl: redis.url, reliability: { enqueueTimeoutMs: 500 } })
  // eslint-disable-next-line prefer-const -- assigned once the teardown that stops it is registered
  let worker: { stop: () => Promise<void> } | undefined
  t.teardown(async () => {
    await worker?.stop()
    await redis.start().catch(() => {})
    await h.close()
    await redis.close()
  })
  await redis.stop()

  const created = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal(created.statusCode, 202, created.body)
  const body = created.json()
  t.equal(body.status, 'queued')
  t.same(body.warnings, ['the queue (Redis) is unavailable: the deployment is recorded and a worker will pick it up when the queue is back'])
  t.equal((await h.request('GET', `/deployments/${body.id as string}`)).json().status, 'queued', 'recorded in the control database')
  const ready = await h.request('GET', '/readyz', { as: null })
  t.equal(ready.statusCode, 503)
  t.same(ready.json().checks, { control_database: 'ok', redis: 'unavailable' })

  await redis.start()
  worker = startWorker(h)
  const done = await h.waitFor(body.id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  const normal = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  t.equal(normal.statusCode, 202)
  t.equal(normal.json().warnings, undefined, 'no warning once the queue is back')
})
