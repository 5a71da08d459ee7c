import { createPublicKey, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, UnsecuredJWT } from 'jose'
import t from 'tap'
import { startHarness, type Harness } from '../helpers/harness.js'
import { githubClaims, startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js'

/**
 * CI signs in with its job's OIDC token (SPEC §13), against an issuer on loopback whose keys jose
 * made: valid tokens map to principals through the rules, and every hostile token is refused with
 * a 401 (or, for a valid token no rule grants, a 403) and a message saying why: never a 5xx.
 */

const AUDIENCE = 'migration-deployer'
const github: TestIssuer = await startTestIssuer({ audience: AUDIENCE })
// A second issuer whose key set may be refetched every second, to see a rotation without waiting 30 s.
const rotating: TestIssuer = await startTestIssuer({ audience: AUDIENCE })
// An issuer whose discovery fails (HTTP 500), counting how often it is asked.
let downHits = 0
const down = http.createServer((_request, response) => { downHits++; response.statusCode = 500; response.end() })
await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve))
const downIssuer = `http://127.0.0.1:${(down.address() as AddressInfo).port}`
t.teardown(async () => { await github.close(); await rotating.close(); down.close() })

const h: Harness = await startHarness({
  worker: true,
  auth: {
    oidc: [
      {
        name: 'github',
        issuer: github.issuer,
        audience: AUDIENCE,
        rules: [
          { match: { repository_id: '42', event_name: 'pull_request*' }, deny: 'pull requests (from forks or not) never deploy' },
          { match: { repository_id: '42', ref: 'refs/heads/main', event_name: 'push' }, principal: '{repository}@{ref}', roles: ['deployer'], environments: ['staging', 'production'], bind_environment: true, person: '{actor}' },
          { match: { repository: 'org/*', sub: 'repo:org/*:**' }, principal: 'reader:{repository}', roles: ['viewer'] }
        ]
      },
      { name: 'down', issuer: downIssuer, audience: AUDIENCE, rules: [{ match: { sub: '**' }, principal: '{sub}', roles: ['viewer'] }] },
      { name: 'rotating', issuer: rotating.issuer, jwks_uri: `${rotating.issuer}/jwks`, audience: AUDIENCE, jwks_refetch_cooldown: '1s', rules: [{ match: { sub: '**' }, principal: 'rotating:{sub}', roles: ['viewer'] }] }
    ]
  }
})
t.teardown(h.close)

async function call (method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<{ status: number, body: { error?: { code: string, message: string, details?: { reason?: string } } } & Record<string, unknown> }> {
  const response = await h.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) })
  return { status: response.statusCode, body: response.json() }
}

const deployTo = (environment: string): { environment: string, migrations: Array<{ name: string, sql: string }> } =>
  ({ environment, migrations: [{ name: `20250101000000_t_${randomBytes(3).toString('hex')}`, sql: 'CREATE TABLE oidc_t (id int);' }] })

t.test('a valid token from a push to main deploys, as the principal its rule names, with issuer and subject in the audit', async (t) => {
  const token = await github.token(githubClaims({ environment: 'staging' }))
  const me = await call('GET', '/me', token)
  t.equal(me.status, 200, JSON.stringify(me.body))
  t.same(me.body, { name: 'org/app@refs/heads/main', roles: ['deployer'] })
  t.equal(github.discoveryFetches(), 1, 'the key set was found by discovery')

  const created = await call('POST', '/deployments', token, deployTo('staging'))
  t.equal(created.status, 202, JSON.stringify(created.body))
  t.equal(created.body.requested_by, 'org/app@refs/heads/main')
  const events = await call('GET', `/deployments/${created.body.id as string}/events`, token)
  const first = (events.body.events as Array<{ type: string, actor: string, actor_identity: unknown }>)[0]
  t.same(first, { ...first, type: 'created', actor: 'org/app@refs/heads/main', actor_identity: { method: 'oidc', issuer: github.issuer, subject: 'repo:org/app:environment:staging', provider: 'github', person: 'octocat' } })
  await h.waitFor(created.body.id as string, ['succeeded'])
})

t.test('hostile and broken tokens: each refused with 401 and the reason, none with a 5xx', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const key = github.current()
  const publicPem = createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
  const cases: Array<[string, string, string, RegExp]> = [
    ['alg: none', new UnsecuredJWT(githubClaims()).setIssuer(github.issuer).setAudience(AUDIENCE).setExpirationTime('5m').encode(), 'algorithm', /only asymmetric algorithms/],
    ['HS256 signed with the public key', await new SignJWT({ ...githubClaims(), iss: github.issuer, aud: AUDIENCE, exp: now + 300 }).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(new TextEncoder().encode(String(publicPem))), 'algorithm', /never "none" or HS\*/],
    ['another issuer', await github.token(githubClaims({ iss: 'https://token.actions.githubusercontent.com.evil.example' })), 'unknown_issuer', /is not a configured OIDC issuer/],
    ['another audience', await github.token(githubClaims({ aud: 'someone-else' })), 'audience', /audience \(aud\) is "someone-else", not "migration-deployer"/],
    ['expired (beyond the 60 s skew)', await github.token(githubClaims({ exp: now - 120, iat: now - 600, nbf: now - 600 })), 'expired', /expired/],
    ['not yet valid (beyond the 60 s skew)', await github.token(githubClaims({ nbf: now + 600 })), 'not_yet_valid', /not valid before/],
    ['an unknown kid', await github.token(githubClaims(), { kid: 'no-such-key' }), 'unknown_key', /no key of OIDC issuer github matches the token's kid/],
    ['a forged signature', `${(await github.token(githubClaims())).split('.').slice(0, 2).join('.')}.${Buffer.from(randomBytes(256)).toString('base64url')}`, 'signature', /does not verify/],
    ['no exp', await new SignJWT({ ...githubClaims(), iss: github.issuer, aud: AUDIENCE }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey), 'claims', /"exp" claim/],
    ['a JWT lookalike', 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln', 'malformed', /not one|malformed/]
  ]
  for (const [what, token, reason, message] of cases) {
    const response = await call('GET', '/me', token)
    t.equal(response.status, 401, `${what}: 401 (${JSON.stringify(response.body)})`)
    t.equal(response.body.error?.code, 'UNAUTHORIZED', `${what}: code`)
    t.equal(response.body.error?.details?.reason, reason, `${what}: reason`)
    t.match(response.body.error?.message, message, `${what}: says why`)
  }
  // Within the skew: a token that expired 30 s ago is still accepted.
  t.equal((await call('GET', '/me', await github.token(githubClaims({ exp: now - 30 })))).status, 200, 'expired 30 s ago: within the skew')
})

t.test('valid tokens the rules do not grant: 403 with the reason', async (t) => {
  const noRule = await call('GET', '/me', await github.token(githubClaims({ repository_id: '999', repository: 'stranger/app', sub: 'repo:stranger/app:ref:refs/heads/main' })))
  t.equal(noRule.status, 403)
  t.match(noRule.body.error?.message, /matches no rule of OIDC issuer github/)

  const fork = await call('POST', '/deployments', await github.token(githubClaims({ event_name: 'pull_request', ref: 'refs/pull/7/merge', head_ref: 'fork-owner:patch-1', sub: 'repo:org/app:pull_request' })), deployTo('production'))
  t.equal(fork.status, 403, 'a pull request (from a fork) cannot deploy')
  t.match(fork.body.error?.message, /rule 1 of OIDC issuer github refuses the token of repo:org\/app:pull_request: pull requests \(from forks or not\) never deploy/)

  const staging = await call('POST', '/deployments', await github.token(githubClaims({ environment: 'staging' })), deployTo('production'))
  t.equal(staging.status, 403, 'a token issued for staging cannot deploy to production')
  t.match(staging.body.error?.message, /issued for environment "staging" and cannot act in "production"/)

  const dev = await call('POST', '/deployments', await github.token(githubClaims({ environment: 'dev' })), deployTo('dev'))
  t.equal(dev.status, 403, 'the rule grants staging and production only')
  t.match(dev.body.error?.message, /may act only in staging, production/)

  const reader = await github.token(githubClaims({ repository_id: '43', repository: 'org/docs', sub: 'repo:org/docs:ref:refs/heads/x/y' }))
  t.same((await call('GET', '/me', reader)).body, { name: 'reader:org/docs', roles: ['viewer'] }, 'globs: org/* and repo:org/*:** (** crosses /)')
  t.equal((await call('POST', '/deployments', reader, deployTo('staging'))).status, 403, 'a viewer cannot deploy')
})

t.test('1,000 requests with random kids: refused, and at most a few fetches of the key set', async (t) => {
  const before = github.jwksFetches()
  const statuses = new Map<number, number>()
  for (let batch = 0; batch < 10; batch++) {
    const tokens = await Promise.all(Array.from({ length: 100 }, async () => await github.token(githubClaims(), { kid: randomBytes(8).toString('hex') })))
    const responses = await Promise.all(tokens.map(async (token) => await h.app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } })))
    for (const response of responses) statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
  }
  t.same([...statuses], [[401, 1000]], 'every one refused with 401')
  const fetches = github.jwksFetches() - before
  t.ok(fetches <= 2, `${fetches} fetches of the key set for 1,000 unknown kids`)
  t.equal((await call('GET', '/me', await github.token(githubClaims()))).status, 200, 'valid tokens still verify')
})

t.test('an issuer that cannot be reached: 503 for its tokens, and it is asked once per cooldown, not once per request', async (t) => {
  const tokens = await Promise.all(Array.from({ length: 100 }, async (_, i) => await github.token({ ...githubClaims(), iss: downIssuer, sub: `job-${i}` })))
  const responses = await Promise.all(tokens.map(async (token) => await call('GET', '/me', token)))
  t.same([...new Set(responses.map((r) => r.status))], [503], 'the service cannot verify them now: 503, not 401')
  t.match(responses[0]?.body.error?.message, /cannot verify tokens of OIDC issuer down now: discovery at .* failed: HTTP 500; the next attempt is in \d+s/)
  t.equal(downHits, 1, '100 concurrent tokens, one discovery request')
  t.equal((await call('GET', '/me', await github.token(githubClaims()))).status, 200, 'other issuers are unaffected')
})

t.test('key rotation: the next token signed with the new key verifies, without a restart', async (t) => {
  const old = await rotating.token({ sub: 'job-1' })
  t.same((await call('GET', '/me', old)).body, { name: 'rotating:job-1', roles: ['viewer'] })
  const fetchesBefore = rotating.jwksFetches()
  const oldKey = rotating.current()
  await rotating.rotate()
  // The issuer's cooldown (1 s here, 30 s by default) bounds how soon an unknown kid refetches.
  const deadline = Date.now() + 5000
  while (Date.now() - rotating.lastJwksFetchAt() < 1100) {
    if (Date.now() > deadline) throw new Error('the cooldown never passed')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const rotated = await call('GET', '/me', await rotating.token({ sub: 'job-2' }))
  t.equal(rotated.status, 200, JSON.stringify(rotated.body))
  t.equal(rotating.jwksFetches(), fetchesBefore + 1, 'one refetch for the new kid')
  const stale = await call('GET', '/me', await rotating.token({ sub: 'job-3' }, { key: oldKey }))
  t.equal(stale.status, 401, 'a token signed with the retired key is refused')
})

t.test('static tokens keep working beside OIDC', async (t) => {
  t.same((await h.request('GET', '/me', { as: 'alice' })).json(), { name: 'alice', roles: ['approver'] })
})
