import t from 'tap'
import type { Job } from 'bullmq'
import { deploymentJobId, type DeploymentJobData } from '../../src/queue/deployment-jobs.js'
import { expireDeployment } from '../../src/pipeline/expire-deployment.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { reconcileQueue } from '../../src/worker.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { until } from '../helpers/until.js'

/**
 * `expires_after` ends an unapproved deployment as `expired` on time: when it enters
 * `pending_approval` a delayed BullMQ job is scheduled for its `expires_at`; nothing polls.
 */

function production (expiresAfter: string, requiredApprovals = 1): Record<string, Record<string, unknown>> {
  return {
    production: {
      working_directory: 'app',
      protected: true,
      approval: { required_approvals: requiredApprovals, roles: ['approver'], expires_after: expiresAfter },
      health_check: { checks: ['connectivity'], timeout: '5s' }
    }
  }
}

async function pending (h: Harness): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  if (created.statusCode !== 202) throw new Error(created.body)
  const deployment = await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
  if (deployment.status !== 'pending_approval') throw new Error(`expected pending_approval: ${JSON.stringify(deployment.report)}`)
  // The worker schedules the expiry job right after the status change: wait for it too.
  await until(async () => await expiryJob(h, deployment.id), `the expiry job of ${deployment.id}`, 5_000, 10)
  return deployment
}

async function expiryJob (h: Harness, id: string): Promise<Job<DeploymentJobData> | undefined> {
  return await h.runtime.queue.getJob(deploymentJobId(id, 'expire'))
}

async function historyCount (h: Harness): Promise<number> {
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets.production as string, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  if (exists?.found !== true) return 0
  const rows = await queryDatabase<{ n: number }>(h.targets.production as string, 'SELECT count(*)::int AS n FROM _prisma_migrations')
  return rows[0]?.n ?? -1
}

interface AuditEvent { type: string, actor: string | null, message: string | null, data: Record<string, unknown> | null }

t.test('entering pending_approval schedules a delayed expiry job due at expires_at', async (t) => {
  const h = await startHarness({ environments: production('1h') })
  t.teardown(h.close)
  const deployment = await pending(h)
  const job = await expiryJob(h, deployment.id)
  t.ok(job, 'the expiry job exists')
  t.same(job?.data, { deploymentId: deployment.id, phase: 'expire' }, 'it carries only the id and the phase')
  t.equal(await job?.getState(), 'delayed', 'it is a delayed job, not a poller')
  const due = (job?.timestamp ?? 0) + (job?.opts.delay ?? 0)
  const expiresAt = new Date(deployment.approval?.expires_at as string).getTime()
  // The job is due when the approval window closes (scheduled a few ms after expires_at was computed).
  t.ok(Math.abs(due - expiresAt) < 1000, `due ${new Date(due).toISOString()} matches expires_at ${deployment.approval?.expires_at}`)

  // Lost with Redis: the reconciler schedules it again, for the same moment.
  await job?.remove()
  t.equal(await expiryJob(h, deployment.id), undefined)
  await reconcileQueue(h.runtime.pipeline)
  const again = await expiryJob(h, deployment.id)
  t.equal(await again?.getState(), 'delayed', 'the reconciler re-creates a missing expiry job')
  t.ok(Math.abs((again?.timestamp ?? 0) + (again?.opts.delay ?? 0) - expiresAt) < 1000)
  // Reconciling twice keeps one job (deterministic id).
  await reconcileQueue(h.runtime.pipeline)
  const delayed = await h.runtime.queue.getDelayed()
  t.equal(delayed.filter((j) => j.data.deploymentId === deployment.id).length, 1)
})

t.test('an expiry job that runs early (clock skew) goes back to wait until expires_at', async (t) => {
  const h = await startHarness({ environments: production('1h') })
  t.teardown(h.close)
  const deployment = await pending(h)
  const job = await expiryJob(h, deployment.id) as Job<DeploymentJobData>
  await job.promote()
  // Wait until the worker has run it once and put it back among the delayed jobs.
  await until(async () => {
    const current = await expiryJob(h, deployment.id)
    return current !== undefined && (current.attemptsStarted ?? 0) >= 1 && await current.getState() === 'delayed' ? true : undefined
  }, 'the expiry job to run once and be delayed again')
  const back = await expiryJob(h, deployment.id)
  t.equal(back?.attemptsStarted, 1, 'it ran once')
  t.ok(Math.abs((back?.processedOn ?? 0) + (back?.delay ?? 0) - new Date(deployment.approval?.expires_at as string).getTime()) < 1000, 'and waits for expires_at again')
  t.equal((await h.request('GET', `/deployments/${deployment.id}`)).json().status, 'pending_approval', 'still pending: the window has not closed')
  t.same(await expireDeployment(h.runtime.pool, h.runtime.logger, deployment.id).then((r) => r.outcome), 'not_due')
})

t.test('with one approval of two, the deployment expires on time; approving afterwards is 410', async (t) => {
  const h = await startHarness({ environments: production('1s', 2) })
  t.teardown(h.close)
  const deployment = await pending(h)
  const first = await h.request('POST', `/deployments/${deployment.id}/approve`, { as: 'alice', body: { comment: 'looks fine' } })
  // The window is one second: on a slow machine it may already have closed.
  t.ok(first.statusCode === 200 || first.statusCode === 410, `approve: ${first.statusCode}`)

  // Only GETs from here on: nothing but the delayed job can expire it.
  const expired = await h.waitFor(deployment.id, ['expired', 'succeeded', 'failed'])
  t.equal(expired.status, 'expired')
  t.ok(expired.finished_at !== null, 'an expired deployment is finished')
  t.match(expired.report, { status: 'error', error: /^Approval expired at / })
  t.equal(expired.steps.find((s) => s.name === 'approval')?.status, 'failed')
  t.match(expired.steps.find((s) => s.name === 'approval')?.detail, /approval window expired/)

  const late = await h.request('POST', `/deployments/${deployment.id}/approve`, { as: 'bob' })
  t.equal(late.statusCode, 410, late.body)
  t.same(Object.keys(late.json()), ['error'])
  t.equal(late.json().error.code, 'GONE')
  t.match(late.json().error.message, /expired/)
  t.equal((await h.request('POST', `/deployments/${deployment.id}/reject`, { as: 'bob', body: { reason: 'too late' } })).statusCode, 409)
  t.equal((await h.request('POST', `/deployments/${deployment.id}/cancel`)).statusCode, 409)
  t.equal(await historyCount(h), 0, 'nothing was applied')

  const events = (await h.request('GET', `/deployments/${deployment.id}/events`, { as: 'viewer' })).json<{ events: AuditEvent[] }>().events
  const expiry = events.filter((e) => e.type === 'status_changed' && e.data?.to === 'expired')
  t.equal(expiry.length, 1, 'one expiry event')
  t.equal(expiry[0]?.actor, 'system', 'the service expired it')
  t.match(expiry[0]?.data, { from: 'pending_approval', to: 'expired', approvals_required: 2 })
  const log = (await h.request('GET', `/deployments/${deployment.id}/log`)).body
  t.match(log, /⌛ EXPIRED: Migration Deployer/)
  t.match(log, /Approval window closed at .* of 2 approvals; nothing was applied/)
  const jobAfter = await expiryJob(h, deployment.id)
  t.equal(jobAfter, undefined, 'the expiry job completed and was removed')
})

t.test('an approved deployment is untouched when its expiry job runs', async (t) => {
  const h = await startHarness({ environments: production('1h') })
  t.teardown(h.close)
  const deployment = await pending(h)
  t.equal((await h.request('POST', `/deployments/${deployment.id}/approve`, { as: 'alice' })).statusCode, 200)
  t.equal((await h.waitFor(deployment.id, ['succeeded', 'failed'])).status, 'succeeded')
  // Run the delayed job now, through the worker.
  const job = await expiryJob(h, deployment.id) as Job<DeploymentJobData>
  await job.promote()
  await until(async () => await expiryJob(h, deployment.id) === undefined ? true : undefined, 'the expiry job to finish')
  const after = (await h.request('GET', `/deployments/${deployment.id}`)).json<DeploymentResource>()
  t.equal(after.status, 'succeeded', 'the job was a no-op')
  const events = (await h.request('GET', `/deployments/${deployment.id}/events`)).json<{ events: AuditEvent[] }>().events
  t.notOk(events.some((e) => e.data?.to === 'expired'), 'no expiry event')
  t.same(await expireDeployment(h.runtime.pool, h.runtime.logger, deployment.id), { outcome: 'not_pending', status: 'succeeded' })
})

t.test('approve after expires_at when the job has not run yet: expired at once, 410', async (t) => {
  // No worker: the job cannot run, so only approve's own check can expire it.
  const h = await startHarness({ environments: production('1h'), worker: false })
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  const id = created.json().id as string
  await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  t.equal((await h.request('GET', `/deployments/${id}`)).json().status, 'pending_approval')
  await h.runtime.pool.query(`UPDATE deployments SET expires_at = now() - interval '1 second' WHERE id = $1`, [id])
  const response = await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', body: { comment: 'too late' } })
  t.equal(response.statusCode, 410, response.body)
  t.equal(response.json().error.code, 'GONE')
  const after = (await h.request('GET', `/deployments/${id}`)).json<DeploymentResource>()
  t.equal(after.status, 'expired')
  t.same(after.approval?.approvals, [], 'the late approval was not recorded')
  t.equal((await h.request('POST', `/deployments/${id}/approve`, { as: 'bob' })).statusCode, 410, 'still 410 afterwards')
  t.same(await expireDeployment(h.runtime.pool, h.runtime.logger, id), { outcome: 'not_pending', status: 'expired' }, 'the job would do nothing now')
})
