// What verifying a CI job's OIDC token costs per request, against a static token (issue 20).
//
//   npx tsx bench/identity-verification.ts [requests per round, default 2000]
//
// One Fastify app with the real auth plugin (src/api/plugins/auth.ts) and a route that needs a
// role, driven with inject(): each injected request is a new connection, so every OIDC token goes
// through the full check (jose: RS256 or ES256 signature, claims, rules), as a job's first request
// on a connection does; a kept-alive connection presenting the same token again skips it (the
// per-connection cache, a constant-time comparison like the static token's). The figure is the
// route's CPU time (this process: user + system, so other load on the machine counts little) with
// the check minus without it, the median of 7 alternating rounds.
// Needs no database or Redis; the key set is served from loopback and cached after the first token.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg } from 'node:os'
import Fastify from 'fastify'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import authPlugin from '../src/api/plugins/auth.js'
import sessionsPlugin from '../src/api/plugins/sessions.js'
import type { ApiServices } from '../src/api/services.js'
import { parseConfig } from '../src/config/load.js'
import { sha256Hex } from '../src/lib/checksum.js'

const REQUESTS = Number(process.argv[2] ?? 2000)
const ROUNDS = 7
const AUDIENCE = 'migration-deployer'

const rsa = await generateKeyPair('RS256')
const ec = await generateKeyPair('ES256')
const keys = [{ ...await exportJWK(rsa.publicKey), kid: 'rs', alg: 'RS256' }, { ...await exportJWK(ec.publicKey), kid: 'es', alg: 'ES256' }]
const jwks = http.createServer((_request, response) => { response.setHeader('content-type', 'application/json'); response.end(JSON.stringify({ keys })) })
await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`

// Ten static tokens, as a team might configure: the check hashes once and compares with each.
const staticTokens = Array.from({ length: 10 }, (_, i) => ({ name: `token-${i}`, sha256: sha256Hex(`static-token-${i}`), roles: ['deployer'] }))
const config = parseConfig({
  environments: { production: { database_url_env: 'PROD_DATABASE_URL' } },
  auth: {
    tokens: staticTokens,
    oidc: [{ name: 'ci', issuer, jwks_uri: `${issuer}/jwks`, audience: AUDIENCE, rules: [{ match: { repository_id: '42', ref: 'refs/heads/*' }, principal: '{repository}@{ref}', roles: ['deployer'] }] }]
  }
}, process.cwd(), 'bench')

const app = Fastify()
app.decorate('services', { config } as unknown as ApiServices)
await app.register(sessionsPlugin)
await app.register(authPlugin)
app.get('/bare', async () => ({ ok: true }))
app.get('/checked', { onRequest: app.requireRole('deployer') }, async () => ({ ok: true }))
await app.ready()

async function jwt (alg: 'RS256' | 'ES256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({ iss: issuer, aud: AUDIENCE, sub: 'repo:org/app:ref:refs/heads/main', repository: 'org/app', repository_id: '42', ref: 'refs/heads/main', iat: now, exp: now + 3600 })
    .setProtectedHeader({ alg, kid: alg === 'RS256' ? 'rs' : 'es' })
    .sign(alg === 'RS256' ? rsa.privateKey : ec.privateKey)
}

const cases: Record<string, { url: string, authorization?: string }> = {
  'no check (baseline)': { url: '/bare' },
  'static token (sha256 + 10 constant-time compares)': { url: '/checked', authorization: 'Bearer static-token-7' },
  'OIDC token, RS256 (full verification)': { url: '/checked', authorization: `Bearer ${await jwt('RS256')}` },
  'OIDC token, ES256 (full verification)': { url: '/checked', authorization: `Bearer ${await jwt('ES256')}` }
}

async function round (request: { url: string, authorization?: string }): Promise<number> {
  const headers = request.authorization === undefined ? {} : { authorization: request.authorization }
  const start = process.cpuUsage()
  for (let i = 0; i < REQUESTS; i++) {
    const response = await app.inject({ method: 'GET', url: request.url, headers })
    if (response.statusCode !== 200) throw new Error(`${request.url}: ${response.statusCode} ${response.body}`)
  }
  const used = process.cpuUsage(start)
  return (used.user + used.system) / REQUESTS
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
for (const request of Object.values(cases)) await round(request) // warm-up: JIT, and the key set fetched once
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, request] of Object.entries(cases)) samples[name]?.push(await round(request))
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
const baseline = median(samples['no check (baseline)'] as number[])

console.log(`${REQUESTS} requests × ${ROUNDS} rounds; ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log('| request | CPU µs per request (inject) | the check alone, CPU µs |')
console.log('|---|---:|---:|')
for (const [name, values] of Object.entries(samples)) {
  const value = median(values)
  console.log(`| ${name} | ${value.toFixed(1)} | ${name.startsWith('no check') ? '—' : (value - baseline).toFixed(1)} |`)
}
await app.close()
jwks.close()
