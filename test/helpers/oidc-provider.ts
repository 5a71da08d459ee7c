import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

/** A free port on loopback (for a server whose URL must be known before it starts). */
export async function freePort (): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

export interface TestIdentityProvider {
  issuer: string
  clientId: string
  clientSecret: string
  close: () => Promise<void>
}

/**
 * A real OpenID provider in-process (oidc-provider, a certified implementation) with its
 * development sign-in pages: any password, the login names the account, whose groups are in
 * `groups`. One confidential client, redirecting to `redirectUrl`.
 */
export async function startIdentityProvider (options: { redirectUrl: string, groups: Record<string, string[]> }): Promise<TestIdentityProvider> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const clientId = 'migration-deployer'
  const clientSecret = randomBytes(24).toString('base64url')
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [options.redirectUrl], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: `sub-${id}`, preferred_username: id, name: id, email: `${id}@example.com`, groups: options.groups[id] ?? [] })
    }),
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: { devInteractions: { enabled: true } }
  })
  // oidc-provider warns (on stderr) that development pages and plain http are for tests: they are.
  provider.on('server_error', (_ctx, error) => { process.stderr.write(`identity provider error: ${String(error)}\n`) })
  const server = http.createServer(provider.callback())
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    issuer,
    clientId,
    clientSecret,
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) }) }
  }
}
