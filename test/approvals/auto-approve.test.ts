import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { githubClaims, startTestIssuer } from '../helpers/oidc-issuer.js'

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

t.test('auto_approve_roles holds for a CI job signed in with OIDC by the roles its rule granted (OIDC principals are in no token list), never by a static token that shares its name', async (t) => {
  const issuer = await startTestIssuer({ audience: 'migration-deployer' })
  t.teardown(issuer.close)
  const h = await startHarness({
    environments: {
      production: { protected: true, approval: { required_approvals: 1, roles: ['approver'], auto_approve_roles: ['approver', 'admin'] } }
    },
    auth: {
      oidc: [{
        name: 'github',
        issuer: issuer.issuer,
        audience: 'migration-deployer',
        rules: [
          { match: { ref: 'refs/heads/main' }, principal: '{repository}', roles: ['deployer', 'approver'], environments: ['production'] },
          // The principal is the job's repository name: a repository called "admin" must not borrow the static admin token's roles.
          { match: { ref: 'refs/heads/**' }, principal: '{repository}', roles: ['deployer'] }
        ]
      }]
    }
  })
  t.teardown(h.close)
  // An inline upload is the whole source: each deployment sends every migration so far.
  const deploy = async (claims: Record<string, string>, names: string[]): Promise<string> => {
    const token = await issuer.token(githubClaims(claims))
    const response = await h.app.inject({
      method: 'POST',
      url: '/deployments',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ environment: 'production', migrations: names.map((name) => ({ name, sql: `CREATE TABLE ${name.slice(15)} (id int);` })) })
    })
    t.equal(response.statusCode, 202, response.body)
    return response.json().id as string
  }

  const released = await h.waitFor(await deploy({ ref: 'refs/heads/main' }, ['20250101000000_released']), ['succeeded', 'failed', 'pending_approval'])
  t.equal(released.status, 'succeeded', 'the job its rule made an approver is approved automatically')
  t.match(released.approval?.approvals[0]?.comment, /auto_approve_roles includes approver \(held by org\/app\)/)

  const impostor = await h.waitFor(await deploy({ ref: 'refs/heads/feature', repository: 'admin' }, ['20250101000000_released', '20250101000001_impostor']), ['succeeded', 'failed', 'pending_approval'])
  t.equal(impostor.requested_by, 'admin', 'the OIDC principal is named like the static admin token')
  t.equal(impostor.status, 'pending_approval', 'and still waits: its own roles (deployer) are not listed')
})
