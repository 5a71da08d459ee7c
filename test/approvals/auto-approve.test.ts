import t from 'tap'
import { startHarness } from '../helpers/harness.js'

t.test('approval.auto_approve_roles approves a listed role on creation, recorded with its rule; never a restore', async (t) => {
  const h = await startHarness({
    environments: {
      production: { working_directory: 'app', protected: true, approval: { required_approvals: 1, roles: ['approver'], auto_approve_roles: ['admin'] } }
    }
  })
  t.teardown(h.close)
  const byAdmin = await h.request('POST', '/deployments', { as: 'admin', body: { environment: 'production' } })
  const done = await h.waitFor(byAdmin.json().id, ['succeeded', 'failed', 'pending_approval'])
  t.equal(done.status, 'succeeded', 'an admin\'s deployment is approved automatically')
  t.same(done.approval?.approvals.map((a) => a.by), ['system'])
  t.match(done.approval?.approvals[0]?.comment, /automatic approval: environments\.production\.approval\.auto_approve_roles includes admin \(held by admin\)/)
  t.equal(done.approval?.approvals[0]?.plan_checksum, done.plan?.checksum)
  const events = (await h.request('GET', `/deployments/${done.id}/events`, { headers: { accept: 'application/json' } })).json().events as Array<{ type: string, actor: string, data: { automatic?: boolean, rule?: string } | null }>
  t.ok(events.some((e) => e.type === 'approved' && e.actor === 'system' && e.data?.automatic === true && /auto_approve_roles/.test(e.data.rule ?? '')))
  t.match((await h.request('GET', `/deployments/${done.id}/log`)).body, /✓ Approval confirmed \(auto-approved: /)

  const byCi = await h.request('POST', '/deployments', { as: 'ci-bot', body: { environment: 'production', working_directory: 'app-next' } })
  t.equal((await h.waitFor(byCi.json().id, ['succeeded', 'failed', 'pending_approval'])).status, 'pending_approval', 'a role not listed still waits')
})
