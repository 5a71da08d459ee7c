import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { githubClaims, startTestIssuer } from '../helpers/oidc-issuer.js'

/**
 * An OIDC rule's roles hold in its `environments` only (SPEC §13), reading included: a CI job
 * scoped to staging sees staging's deployments and status, and production's are as if they did
 * not exist (404, never listed) or refused by name (403 for an environment it names).
 */
const issuer = await startTestIssuer({ audience: 'migration-deployer' })
t.teardown(issuer.close)
const h = await startHarness({
  worker: false,
  auth: {
    oidc: [{
      name: 'github',
      issuer: issuer.issuer,
      audience: 'migration-deployer',
      rules: [
        { match: { ref: 'refs/heads/main' }, principal: 'ci:{repository}', roles: ['deployer'], environments: ['staging'] },
        { match: { ref: 'refs/heads/**' }, principal: 'bound:{repository}', roles: ['viewer'], bind_environment: true }
      ]
    }]
  }
})
t.teardown(h.close)

async function as (token: string, url: string): Promise<{ status: number, json: () => any }> {
  const response = await h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })
  return { status: response.statusCode, json: () => response.json() }
}

const inline = (name: string): { migrations: Array<{ name: string, sql: string }> } => ({ migrations: [{ name, sql: 'SELECT 1;' }] })
const staging = (await h.request('POST', '/deployments', { body: { environment: 'staging', ...inline('20250101000000_s') } })).json().id as string
const production = (await h.request('POST', '/deployments', { body: { environment: 'production', ...inline('20250101000000_p') } })).json().id as string

t.test('a token whose rule lists staging reads staging only: production deployments are not found and not listed', async (t) => {
  const token = await issuer.token(githubClaims({ ref: 'refs/heads/main' }))
  t.equal((await as(token, `/deployments/${staging}`)).status, 200, 'its own environment reads')
  for (const path of ['', '/log', '/events', '/targets']) {
    const response = await as(token, `/deployments/${production}${path}`)
    t.equal(response.status, 404, `GET /deployments/<production>${path} is 404`)
    t.equal(response.json().error.code, 'NOT_FOUND')
  }
  const listed = (await as(token, '/deployments')).json().deployments as Array<{ id: string }>
  t.same(listed.map((d) => d.id), [staging], 'the list holds staging\'s deployment only')
  t.same((await as(token, '/deployments?environment=production')).json().deployments, [], 'asking for production lists nothing')
  t.same(((await as(token, '/environments')).json().environments as Array<{ name: string }>).map((e) => e.name), ['staging'])
  t.equal((await as(token, '/environments/production/status')).status, 403)
  t.equal((await as(token, '/environments/production/backups')).status, 403)

  const everywhere = ((await h.request('GET', '/deployments', { as: 'viewer' })).json().deployments as Array<{ id: string }>).map((d) => d.id)
  t.same(everywhere.sort(), [staging, production].sort(), 'a static token still reads everything')
  t.equal((await h.request('GET', `/deployments/${production}`, { as: 'viewer' })).statusCode, 200)
})

t.test('a token bound to the environment it was issued for reads that environment only', async (t) => {
  const token = await issuer.token(githubClaims({ ref: 'refs/heads/feature', environment: 'production' }))
  t.equal((await as(token, `/deployments/${production}`)).status, 200)
  t.equal((await as(token, `/deployments/${staging}`)).status, 404)
  t.same(((await as(token, '/deployments')).json().deployments as Array<{ id: string }>).map((d) => d.id), [production])
})
