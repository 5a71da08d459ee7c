import t from 'tap'
import { startHarness, TOKENS, tokenOf, type TokenName } from '../helpers/harness.js'

const h = await startHarness({ worker: false })
t.teardown(h.close)

t.test('GET /me names the bearer token and its roles', async (t) => {
  for (const [name, roles] of Object.entries(TOKENS)) {
    const response = await h.request('GET', '/me', { as: name as TokenName })
    t.equal(response.statusCode, 200, `${name}: ${response.body}`)
    t.same(response.json(), { name, roles: [...roles] }, name)
  }
})

t.test('GET /me without a valid token is 401, and names nobody', async (t) => {
  const missing = await h.request('GET', '/me', { as: null })
  t.equal(missing.statusCode, 401)
  t.equal(missing.json().error.code, 'UNAUTHORIZED')
  const wrong = await h.request('GET', '/me', { as: null, headers: { authorization: 'Bearer not-a-token' } })
  t.equal(wrong.statusCode, 401)
  t.notMatch(wrong.body, /alice|ci-bot|admin/)
  // The token travels only in the header: a query string is not read.
  const inQuery = await h.request('GET', `/me?token=${tokenOf('alice')}`, { as: null })
  t.equal(inQuery.statusCode, 401)
})

t.test('GET /me is documented with its response schema', async (t) => {
  const spec = (await h.request('GET', '/openapi.json', { as: null })).json()
  const operation = spec.paths['/me']?.get
  t.ok(operation, '/me is in the OpenAPI document')
  t.same(Object.keys(operation.responses).sort(), ['200', '401', '403', '429'])
  t.equal(operation.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/Me')
  const me = spec.components.schemas.Me
  t.same(me.required?.sort(), ['name', 'roles'])
  // Built-in roles and custom ones (e.g. dba for policy.approvals_by_risk): any role name.
  t.equal(me.properties.roles.items.type, 'string')
  t.notOk(spec.paths['/ui'], 'the review page is not an API operation')
})
