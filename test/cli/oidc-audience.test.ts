import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { runCli } from '../helpers/cli.js'
import { startHarness } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { githubClaims, startTestIssuer } from '../helpers/oidc-issuer.js'

/**
 * The CLI in a CI job without a stored secret: `--oidc-audience` fetches the job's OIDC token the
 * way GitHub Actions hands it out (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN), and DEPLOYER_TOKEN may hold
 * an OIDC token itself (GitLab's id_tokens). Tokens never appear in what the CLI prints.
 */

const AUDIENCE = 'migration-deployer'
const issuer = await startTestIssuer({ audience: AUDIENCE })
t.teardown(issuer.close)

// GitHub's token service, as a job sees it: a URL and a request token; the audience in the query.
const requestToken = `ghs_${randomBytes(16).toString('hex')}`
const handedOut: Array<{ audience: string | null, authorized: boolean, token: string }> = []
const tokenService = http.createServer((request, response) => {
  void (async () => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const audience = url.searchParams.get('audience')
    const token = await issuer.token({ ...githubClaims({ environment: 'staging' }), aud: audience ?? 'none' })
    handedOut.push({ audience, authorized: request.headers.authorization === `Bearer ${requestToken}`, token })
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ count: 1, value: token }))
  })()
})
await new Promise<void>((resolve) => tokenService.listen(0, '127.0.0.1', resolve))
t.teardown(() => { tokenService.close() })
const requestUrl = `http://127.0.0.1:${(tokenService.address() as AddressInfo).port}/token?api-version=2.0`

const h = await startHarness({
  worker: false,
  auth: { oidc: [{ name: 'github', issuer: issuer.issuer, audience: AUDIENCE, rules: [{ match: { repository_id: '42' }, principal: '{repository}', roles: ['viewer'] }] }] }
})
t.teardown(h.close)
const server = await listenOnLoopback(h)
const actions = { DEPLOYER_URL: server, ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }

t.test('--oidc-audience fetches the job\'s token for that audience and signs in with it', async (t) => {
  const run = await runCli(['envs', '--oidc-audience', AUDIENCE, '--json'], actions)
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /"name": ?"production"/)
  t.equal(handedOut.length, 1)
  t.same(handedOut.map(({ audience, authorized }) => ({ audience, authorized })), [{ audience: AUDIENCE, authorized: true }], 'asked with the request token, for the audience')
})

t.test('a token for another audience is refused; the CLI says why and prints no token', async (t) => {
  const run = await runCli(['envs', '--oidc-audience', 'someone-else'], actions)
  t.equal(run.code, 2)
  t.match(run.stderr, /401 UNAUTHORIZED: the token's audience \(aud\) is "someone-else", not "migration-deployer"/)
  const last = handedOut[handedOut.length - 1]?.token as string
  t.notOk(`${run.stdout}${run.stderr}`.includes(last), 'the OIDC token is not printed')
  t.notOk(`${run.stdout}${run.stderr}`.includes(requestToken), 'nor the request token')
})

t.test('DEPLOYER_TOKEN may hold an OIDC token (GitLab\'s id_tokens)', async (t) => {
  const run = await runCli(['envs', '--json'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: await issuer.token(githubClaims()) })
  t.equal(run.code, 0, run.stderr)
})

t.test('outside GitHub Actions, --oidc-audience says what is missing', async (t) => {
  const run = await runCli(['envs', '--oidc-audience', AUDIENCE], { DEPLOYER_URL: server })
  t.equal(run.code, 2)
  t.match(run.stderr, /ACTIONS_ID_TOKEN_REQUEST_URL\/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job `permissions: id-token: write`/)
  const both = await runCli(['envs', '--oidc-audience', AUDIENCE], { ...actions, DEPLOYER_TOKEN: 'example-ci-token' })
  t.match(both.stderr, /either a token .* or --oidc-audience, not both/)
})
