import t from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { startHarness, type Harness, type TokenName } from '../helpers/harness.js'

/**
 * Who may approve, and what an approval records: per-environment roles and named approvers,
 * N distinct approvers, no self-approval unless allowed, one rejection ends it.
 */

const base = { working_directory: 'app', protected: true, health_check: { checks: ['connectivity'], timeout: '5s' } }

const h: Harness = await startHarness({
  environments: {
    production: { ...base, approval: { required_approvals: 2, roles: ['approver'], expires_after: '1h' } },
    // Each test deploys the same folder to its own environment (a fresh database).
    rejecting: { ...base, approval: { required_approvals: 2, roles: ['approver'] } },
    named: { ...base, approval: { required_approvals: 1, roles: ['approver'], approvers: ['bob'] } },
    vault: { ...base, approval: { required_approvals: 1, roles: ['admin'] } },
    selfserve: { ...base, approval: { required_approvals: 1, roles: ['approver'], allow_self_approval: true } }
  }
})
t.teardown(h.close)

interface ApprovalRecord { by: string, at: string, comment: string | null, plan_checksum: string }
interface AuditEvent { type: string, actor: string | null, data: Record<string, unknown> | null, created_at: string }

async function pending (environment: string, as: TokenName = 'ci-bot'): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { as, body: { environment } })
  if (created.statusCode !== 202) throw new Error(`${created.statusCode} ${created.body}`)
  const deployment = await h.waitFor(created.json().id, ['pending_approval', 'failed', 'succeeded'])
  if (deployment.status !== 'pending_approval') throw new Error(`expected pending_approval, got ${deployment.status}`)
  return deployment
}

async function approve (
  id: string,
  as: TokenName,
  comment?: string
): Promise<{ status: number; body: { status?: string; approval?: { approvals: ApprovalRecord[] }; error?: { code: string; message: string } } }> {
  const response = await h.request('POST', `/deployments/${id}/approve`, { as, ...(comment === undefined ? {} : { body: { comment } }) })
  return { status: response.statusCode, body: response.json() }
}

t.test('two distinct approvers: the requester never counts, a repeat counts once, each approval is recorded', async (t) => {
  const deployment = await pending('production', 'carol')
  const checksum = deployment.plan?.checksum as string
  t.match(checksum, /^sha256:[0-9a-f]{64}$/)

  const self = await approve(deployment.id, 'carol', 'my own')
  t.equal(self.status, 403, 'carol requested it, so carol cannot approve it, even with two required')
  t.match(self.body.error?.message, /carol requested this deployment/)

  const first = await approve(deployment.id, 'alice', 'Read the SQL: additive only')
  t.equal(first.status, 200)
  t.equal(first.body.status, 'pending_approval', 'one of two')
  const repeat = await approve(deployment.id, 'alice', 'again')
  t.equal(repeat.status, 409)
  t.equal(repeat.body.error?.code, 'ALREADY_APPROVED')
  const afterRepeat = (await h.request('GET', `/deployments/${deployment.id}`)).json<DeploymentResource>()
  t.equal(afterRepeat.status, 'pending_approval', 'a repeat approval does not release it')
  t.equal(afterRepeat.approval?.approvals.length, 1, 'and is not counted')
  t.equal(afterRepeat.approval?.approvals[0]?.comment, 'Read the SQL: additive only', 'the first comment stands')

  const second = await approve(deployment.id, 'bob')
  t.equal(second.status, 200)
  const approvals = second.body.approval?.approvals ?? []
  t.same(approvals.map((a) => a.by), ['alice', 'bob'])
  t.same(approvals.map((a) => a.comment), ['Read the SQL: additive only', null])
  t.ok(approvals.every((a) => a.plan_checksum === checksum), 'each approval is bound to the plan checksum it approved')
  t.ok(approvals.every((a) => !Number.isNaN(Date.parse(a.at))), 'each has a time')
  t.ok(Date.parse(approvals[0]?.at ?? '') <= Date.parse(approvals[1]?.at ?? ''), 'in order')

  // The control database holds the same record.
  const { rows } = await h.runtime.pool.query<{ approver: string, comment: string | null, plan_checksum: string, created_at: Date }>('SELECT approver, comment, plan_checksum, created_at FROM approvals WHERE deployment_id = $1 ORDER BY created_at', [deployment.id])
  t.same(rows.map((r) => [r.approver, r.comment, r.plan_checksum]), [['alice', 'Read the SQL: additive only', checksum], ['bob', null, checksum]])
  t.same(rows.map((r) => r.created_at.toISOString()), approvals.map((a) => a.at))

  const done = await h.waitFor(deployment.id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal(done.steps.find((s) => s.name === 'approval')?.detail, 'approved by alice, bob')
  const log = (await h.request('GET', `/deployments/${deployment.id}/log`)).body
  t.match(log, /✓ Approval received \(alice\): 1 of 2/)
  t.match(log, /✓ Approval confirmed \(alice, bob\)/)

  const events = (await h.request('GET', `/deployments/${deployment.id}/events`)).json<{ events: AuditEvent[] }>().events
  const approved = events.filter((e) => e.type === 'approved')
  t.same(approved.map((e) => e.actor), ['alice', 'bob'], 'one approval event per counted approval')
  t.same(approved.map((e) => e.data), [{ plan_checksum: checksum, comment: 'Read the SQL: additive only' }, { plan_checksum: checksum, comment: null }])
  t.ok(events.some((e) => e.type === 'status_changed' && e.actor === 'bob' && e.data?.from === 'pending_approval' && e.data?.to === 'queued'), 'the release is attributed to the last approver')
})

t.test('one rejection ends it, even after an approval', async (t) => {
  const deployment = await pending('rejecting')
  t.equal((await approve(deployment.id, 'alice')).status, 200)
  const rejected = await h.request('POST', `/deployments/${deployment.id}/reject`, { as: 'bob', body: { reason: 'Locks the users table for minutes' } })
  t.equal(rejected.statusCode, 200)
  t.equal(rejected.json().status, 'rejected')
  t.equal((await approve(deployment.id, 'admin')).status, 409, 'no approval after a rejection')
  const events = (await h.request('GET', `/deployments/${deployment.id}/events`)).json<{ events: AuditEvent[] }>().events
  t.ok(events.some((e) => e.type === 'rejected' && e.actor === 'bob' && e.data?.reason === 'Locks the users table for minutes' && e.data?.plan_checksum === deployment.plan?.checksum))
})

t.test('named approvers: only they may approve or reject there', async (t) => {
  const deployment = await pending('named')
  const alice = await approve(deployment.id, 'alice')
  t.equal(alice.status, 403, 'alice has the role but is not named')
  t.match(alice.body.error?.message, /alice is not one of the named approvers of named \(bob\)/)
  t.equal((await h.request('POST', `/deployments/${deployment.id}/reject`, { as: 'alice', body: { reason: 'no' } })).statusCode, 403)
  t.equal((await approve(deployment.id, 'admin')).status, 403, 'not even an admin who is not named')
  const bob = await approve(deployment.id, 'bob', 'ok')
  t.equal(bob.status, 200)
  t.equal((await h.waitFor(deployment.id, ['succeeded', 'failed'])).status, 'succeeded')
})

t.test('per-environment roles: an environment approved by admins only', async (t) => {
  const deployment = await pending('vault')
  const alice = await approve(deployment.id, 'alice')
  t.equal(alice.status, 403)
  t.match(alice.body.error?.message, /alice may not approve in vault: it needs one of the roles admin/)
  t.equal((await h.request('POST', `/deployments/${deployment.id}/reject`, { as: 'bob', body: { reason: 'no' } })).statusCode, 403, 'nor reject')
  t.equal((await approve(deployment.id, 'admin')).status, 200)
  t.equal((await h.waitFor(deployment.id, ['succeeded', 'failed'])).status, 'succeeded')
})

t.test('allow_self_approval: the requester may approve their own deployment there', async (t) => {
  const deployment = await pending('selfserve', 'carol')
  const self = await approve(deployment.id, 'carol', 'own change, allowed here')
  t.equal(self.status, 200)
  t.same(self.body.approval?.approvals.map((a) => a.by), ['carol'])
  t.equal((await h.waitFor(deployment.id, ['succeeded', 'failed'])).status, 'succeeded')
})
