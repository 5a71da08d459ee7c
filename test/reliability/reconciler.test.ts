import { UnrecoverableError, Worker } from 'bullmq'
import t from 'tap'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import { deploymentJobId, enqueueDeploymentPhase } from '../../src/queue/deployment-jobs.js'
import { reconcileQueue } from '../../src/worker/reconciler.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { claimDeployment } from '../../src/store/deployments.js'
import { createDeploymentWorker } from '../../src/worker.js'
import { startHarness, type Harness } from '../helpers/harness.js'

const PROTECTED = { working_directory: 'app', protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: { checks: ['connectivity'], timeout: '5s' } }
const environments = { staging: { working_directory: 'app' }, production: PROTECTED }

async function jobState (h: Harness, id: string, phase: 'plan' | 'apply'): Promise<string> {
  const job = await h.runtime.queue.getJob(deploymentJobId(id, phase))
  return job === undefined ? 'missing' : await job.getState()
}

async function created (h: Harness, environment: string): Promise<string> {
  const response = await h.request('POST', '/deployments', { body: { environment } })
  if (response.statusCode !== 202) throw new Error(response.body)
  return response.json().id as string
}

/** A stand-in worker on the service's queue that runs `processor` instead of the pipeline. */
function stubWorker (h: Harness, processor: () => Promise<void>): Worker {
  return new Worker(h.runtime.settings.queueName, processor, { connection: redisConnectionOptions(h.runtime.settings.redisUrl), concurrency: 1 })
}

t.test('a queued deployment whose job is missing, completed-and-removed, or failed-and-kept gets a job again', async (t) => {
  const h = await startHarness({ environments, worker: false })
  t.teardown(h.close)

  const lost = await created(h, 'staging')
  await (await h.runtime.queue.getJob(deploymentJobId(lost, 'plan')))?.remove()
  t.equal(await jobState(h, lost, 'plan'), 'missing', 'lost with Redis (or never enqueued)')

  // Completed (and, with removeOnComplete, removed) while the row is still queued.
  const completed = await created(h, 'staging')
  const completing = stubWorker(h, async () => {})
  await new Promise<void>((resolve) => completing.on('completed', () => { resolve() }))
  await completing.close()
  t.equal(await jobState(h, completed, 'plan'), 'missing', 'completed jobs are removed at once')

  // Failed (kept 7 days): BullMQ ignores an add with the same id, so it must be removed first.
  const failed = await created(h, 'staging')
  const failing = stubWorker(h, async () => { throw new UnrecoverableError('control database unreachable') })
  await new Promise<void>((resolve) => failing.on('failed', () => { resolve() }))
  await failing.close()
  t.equal(await jobState(h, failed, 'plan'), 'failed')
  await enqueueDeploymentPhase(h.runtime.queue, failed, 'plan')
  t.equal(await jobState(h, failed, 'plan'), 'failed', 'a plain re-add is ignored: the reason the reconciler removes the failed job first')

  const waiting = await created(h, 'staging')
  const result = await reconcileQueue(h.runtime.pipeline)
  t.ok(result.ran)
  t.same([...result.enqueued].sort(), [lost, completed, failed].sort(), 'exactly the three without a live job')
  for (const id of [lost, completed, failed, waiting]) t.equal(await jobState(h, id, 'plan'), 'waiting', `${id} has a waiting job`)
  t.same((await reconcileQueue(h.runtime.pipeline)).enqueued, [], 'a second pass finds nothing to do')

  const worker = createDeploymentWorker(h.runtime.pipeline, {
    queueName: h.runtime.settings.queueName,
    connection: redisConnectionOptions(h.runtime.settings.redisUrl),
    concurrency: 2
  })
  t.teardown(async () => { await worker.close() })
  for (const id of [lost, completed, failed, waiting]) t.equal((await h.waitFor(id, ['succeeded', 'failed'])).status, 'succeeded', `${id} completes`)
})

t.test('an approved deployment (queued for its apply phase) and a running one whose job vanished get their job back; an active job is left alone', async (t) => {
  const h = await startHarness({ environments, worker: false })
  t.teardown(h.close)

  const approved = await created(h, 'production')
  // Planned here, in the test: its plan job is not needed.
  await (await h.runtime.queue.getJob(deploymentJobId(approved, 'plan')))?.remove()
  await runDeploymentPhase(h.runtime.pipeline, approved, 'plan')
  t.equal((await h.request('POST', `/deployments/${approved}/approve`, { as: 'alice' })).statusCode, 200)
  await (await h.runtime.queue.getJob(deploymentJobId(approved, 'apply')))?.remove()

  const running = await created(h, 'staging')
  await (await h.runtime.queue.getJob(deploymentJobId(running, 'plan')))?.remove()
  await claimDeployment(h.runtime.pool, running, 'plan')

  // A job a worker holds right now: not touched.
  const active = await created(h, 'staging')
  let release: () => void = () => {}
  const holding = stubWorker(h, async () => { await new Promise<void>((resolve) => { release = resolve }) })
  await new Promise<void>((resolve) => holding.on('active', () => { resolve() }))
  t.equal(await jobState(h, active, 'plan'), 'active')

  const result = await reconcileQueue(h.runtime.pipeline)
  t.same([...result.enqueued].sort(), [approved, running].sort())
  t.equal(await jobState(h, approved, 'apply'), 'waiting', 'the apply job is back')
  t.equal(await jobState(h, running, 'plan'), 'waiting')
  t.equal(await jobState(h, active, 'plan'), 'active', 'the active job is left to its worker (and to the stalled-job check)')
  release()
  await holding.close()
})

t.test('a deployment whose worker kept dying ends failed, clearly, instead of looping', async (t) => {
  const h = await startHarness({ environments, worker: false })
  t.teardown(h.close)
  const id = await created(h, 'staging')
  await claimDeployment(h.runtime.pool, id, 'plan')
  // What BullMQ does once a job stalled more than maxStalledCount times.
  const taker = new Worker(h.runtime.settings.queueName, null, { connection: redisConnectionOptions(h.runtime.settings.redisUrl) })
  t.teardown(async () => { await taker.close() })
  const job = await taker.getNextJob('token-1')
  t.equal(job?.id, deploymentJobId(id, 'plan'))
  job?.discard()
  await job?.moveToFailed(new Error('job stalled more than allowable limit'), 'token-1')
  t.equal(await jobState(h, id, 'plan'), 'failed')

  const result = await reconcileQueue(h.runtime.pipeline)
  t.same(result.failed, [id])
  t.same(result.enqueued, [])
  const done = (await h.request('GET', `/deployments/${id}`)).json()
  t.equal(done.status, 'failed')
  t.match(done.report.error, /stopped \(crashed or was killed\) too many times during its plan phase/)
  t.match(done.report.recovery.suggestions.join('\n'), /Nothing is half-applied/)
  t.match((await h.request('GET', `/deployments/${id}/log`)).body, /❌ FAILED: Migration Deployer/)
})
