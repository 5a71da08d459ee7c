import t from 'tap'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'

async function historyCount (h: Harness, env: string): Promise<number> {
  const [exists] = await queryDatabase<{ found: boolean }>(h.targets[env] as string, `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`)
  if (exists?.found !== true) return 0
  const rows = await queryDatabase<{ n: number }>(h.targets[env] as string, 'SELECT count(*)::int AS n FROM _prisma_migrations')
  return rows[0]?.n ?? -1
}

async function pendingProduction (h: Harness, as: 'ci-bot' | 'carol' = 'ci-bot'): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { as, body: { environment: 'production', source: { commit: 'abc123', ref: 'main' } } })
  if (created.statusCode !== 202) throw new Error(created.body)
  return await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
}

t.test('production waits for approval with a frozen plan, then an approver releases it', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)

  const pending = await pendingProduction(h)
  t.equal(pending.status, 'pending_approval', JSON.stringify(pending.report))
  t.equal(pending.mode, 'deploy')
  t.match(pending.plan?.checksum, /^sha256:[0-9a-f]{64}$/)
  t.equal(pending.plan?.pending_migrations, 5)
  for (const migration of pending.plan?.migrations ?? []) {
    t.match(migration.checksum, /^[0-9a-f]{64}$/)
    t.ok(migration.sql.length > 0)
  }
  t.same(pending.approval?.approvals, [])
  t.equal(pending.approval?.required, 1)
  t.ok(pending.approval?.expires_at !== null && new Date(pending.approval?.expires_at as string).getTime() > Date.now())
  t.same(pending.source, { commit: 'abc123', ref: 'main' })
  t.equal(await historyCount(h, 'production'), 0, 'nothing applied while pending')

  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: null })).statusCode, 401, 'no token')
  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'ci-bot' })).statusCode, 403, 'the requester (a deployer) cannot approve')
  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'viewer' })).statusCode, 403, 'a viewer cannot approve')

  const approved = await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice', body: { comment: 'Reviewed the SQL' } })
  t.equal(approved.statusCode, 200, approved.body)
  const approvals = approved.json().approval.approvals as Array<{ by: string, comment: string, plan_checksum: string }>
  t.equal(approvals.length, 1)
  t.equal(approvals[0]?.by, 'alice')
  t.equal(approvals[0]?.comment, 'Reviewed the SQL')
  t.equal(approvals[0]?.plan_checksum, pending.plan?.checksum)

  const again = await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice' })
  t.equal(again.statusCode, 409, 'approving twice is a conflict')
  t.equal(again.json().error.code.length > 0, true)

  const done = await h.waitFor(pending.id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 5)
  t.equal(await historyCount(h, 'production'), 5)
  t.equal(done.steps.find((s) => s.name === 'approval')?.status, 'passed')

  const late = await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'bob' })
  t.equal(late.statusCode, 409, 'approving a finished deployment is a conflict')

  const log = (await h.request('GET', `/deployments/${pending.id}/log`)).body
  t.match(log, /Mode: deploy \(production mode\)/)
  t.match(log, /✓ Approval confirmed \(alice\)/)
  t.match(log, /✅ COMPLETED: Migration Deployer/)

  const events = (await h.request('GET', `/deployments/${pending.id}/events`)).json().events as Array<{ type: string, actor: string | null }>
  t.ok(events.some((e) => e.type === 'created' && e.actor === 'ci-bot'))
  t.ok(events.some((e) => e.type === 'approved' && e.actor === 'alice'))
})

t.test('a requester who is also an approver cannot approve their own deployment', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const pending = await pendingProduction(h, 'carol')
  const self = await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'carol' })
  t.equal(self.statusCode, 403)
  t.match(self.json().error.message, /requested this deployment/)
  t.equal((await h.request('GET', `/deployments/${pending.id}`)).json().status, 'pending_approval')
})

t.test('a rejection with a reason ends it and applies nothing', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const pending = await pendingProduction(h)
  const noReason = await h.request('POST', `/deployments/${pending.id}/reject`, { as: 'alice', body: {} })
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json().error.message, /reason/)
  t.equal((await h.request('POST', `/deployments/${pending.id}/reject`, { as: 'ci-bot', body: { reason: 'no' } })).statusCode, 403)
  const rejected = await h.request('POST', `/deployments/${pending.id}/reject`, { as: 'alice', body: { reason: 'Drops data we still need' } })
  t.equal(rejected.statusCode, 200, rejected.body)
  t.equal(rejected.json().status, 'rejected')
  t.match(rejected.json().report.error, /Rejected by alice: Drops data we still need/)
  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'bob' })).statusCode, 409, 'cannot approve after rejection')
  t.equal((await h.request('POST', `/deployments/${pending.id}/reject`, { as: 'bob', body: { reason: 'again' } })).statusCode, 409)
  t.equal(await historyCount(h, 'production'), 0)
  const events = (await h.request('GET', `/deployments/${pending.id}/events`)).json().events as Array<{ type: string, actor: string | null, data: { reason?: string } | null }>
  t.ok(events.some((e) => e.type === 'rejected' && e.actor === 'alice' && e.data?.reason === 'Drops data we still need'))
  t.match((await h.request('GET', `/deployments/${pending.id}/log`)).body, /REJECTED/)
})

t.test('cancel works while pending or queued, by the requester or an admin only', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  // No worker: the deployment stays queued.
  const queued = await h.request('POST', '/deployments', { body: { environment: 'staging' } })
  const id = queued.json().id as string
  t.equal(queued.json().status, 'queued')
  t.equal((await h.request('POST', `/deployments/${id}/cancel`, { as: 'carol' })).statusCode, 403, 'another deployer cannot cancel it')
  t.equal((await h.request('POST', `/deployments/${id}/cancel`, { as: 'viewer' })).statusCode, 403)
  const cancelled = await h.request('POST', `/deployments/${id}/cancel`)
  t.equal(cancelled.statusCode, 200, cancelled.body)
  t.equal(cancelled.json().status, 'cancelled')
  t.equal((await h.request('POST', `/deployments/${id}/cancel`)).statusCode, 409, 'cancelling twice is a conflict')

  // A cancelled deployment's job does nothing when a worker finally runs it.
  const { runDeploymentPhase } = await import('../../src/pipeline/run-phase.js')
  await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  t.equal((await h.request('GET', `/deployments/${id}`)).json().status, 'cancelled')
  t.equal(await historyCount(h, 'staging'), 0)
})

t.test('cancel a pending production deployment', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const pending = await pendingProduction(h)
  const cancelled = await h.request('POST', `/deployments/${pending.id}/cancel`, { as: 'admin' })
  t.equal(cancelled.statusCode, 200)
  t.equal(cancelled.json().status, 'cancelled')
  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice' })).statusCode, 409)
  t.equal(await historyCount(h, 'production'), 0)
})

t.test('two approvals required: each distinct approver counts once', async (t) => {
  const h = await startHarness({
    environments: { production: { working_directory: 'app', protected: true, approval: { required_approvals: 2, roles: ['approver'] } } }
  })
  t.teardown(h.close)
  const pending = await pendingProduction(h)
  const first = await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice' })
  t.equal(first.statusCode, 200)
  t.equal(first.json().status, 'pending_approval', 'one approval of two keeps it pending')
  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice' })).statusCode, 409)
  const second = await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'bob' })
  t.equal(second.statusCode, 200)
  t.same(second.json().approval.approvals.map((a: { by: string }) => a.by).sort(), ['alice', 'bob'])
  t.equal((await h.waitFor(pending.id, ['succeeded', 'failed'])).status, 'succeeded')
})
