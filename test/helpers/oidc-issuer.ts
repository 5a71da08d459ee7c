import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

interface SigningKey { kid: string, privateKey: CryptoKey, publicJwk: JWK }

/**
 * A CI identity provider on loopback, like GitHub's or GitLab's token service: discovery at
 * `/.well-known/openid-configuration`, its key set at `/jwks` (each fetch counted), and tokens
 * signed with keys made by jose. `rotate()` replaces the key, as an issuer does.
 */
export interface TestIssuer {
  issuer: string
  /** Fetches of the key set so far, and when the last one was. */
  jwksFetches: () => number
  lastJwksFetchAt: () => number
  discoveryFetches: () => number
  /** The key signing now. */
  current: () => SigningKey
  /** A new key replaces the current one in the key set (the old one is gone). */
  rotate: () => Promise<SigningKey>
  /** A token with these claims (over a set of defaults), signed with the current key unless told otherwise. */
  token: (claims?: JWTPayload, options?: { key?: SigningKey, kid?: string, header?: Record<string, unknown> }) => Promise<string>
  close: () => Promise<void>
}

async function newKey (): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const kid = randomBytes(8).toString('hex')
  return { kid, privateKey, publicJwk: { ...await exportJWK(publicKey), kid, alg: 'RS256', use: 'sig' } }
}

export async function startTestIssuer (options: { audience: string }): Promise<TestIssuer> {
  let key = await newKey()
  let jwksFetches = 0
  let lastJwksFetchAt = 0
  let discoveryFetches = 0
  let issuer = ''
  const server = http.createServer((request, response) => {
    if (request.url === '/.well-known/openid-configuration') {
      discoveryFetches++
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'], response_types_supported: ['id_token'], subject_types_supported: ['public'] }))
    } else if (request.url === '/jwks') {
      jwksFetches++
      lastJwksFetchAt = Date.now()
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ keys: [key.publicJwk] }))
    } else {
      response.statusCode = 404
      response.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    issuer,
    jwksFetches: () => jwksFetches,
    lastJwksFetchAt: () => lastJwksFetchAt,
    discoveryFetches: () => discoveryFetches,
    current: () => key,
    rotate: async () => { key = await newKey(); return key },
    token: async (claims = {}, { key: signer = key, kid, header = {} } = {}) => {
      const now = Math.floor(Date.now() / 1000)
      return await new SignJWT({ iss: issuer, aud: options.audience, iat: now, nbf: now - 5, exp: now + 300, jti: randomBytes(8).toString('hex'), ...claims })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: kid ?? signer.kid, ...header })
        .sign(signer.privateKey)
    },
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) }) }
  }
}

/** The claims of a GitHub Actions job's token (a push to main of org/app, run by octocat, in `environment`). */
export function githubClaims (overrides: JWTPayload = {}): JWTPayload {
  const environment = typeof overrides.environment === 'string' ? overrides.environment : 'production'
  return {
    sub: `repo:org/app:environment:${environment}`,
    repository: 'org/app',
    repository_id: '42',
    repository_owner: 'org',
    repository_owner_id: '7',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: 'abc123',
    actor: 'octocat',
    actor_id: '583231',
    event_name: 'push',
    environment,
    workflow: 'migrations',
    run_id: '1',
    ...overrides
  }
}
