import crypto, { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { hasRole, type Principal } from '../../auth/principal.js'
import type { Role } from '../../domain/index.js'
import { ForbiddenError, UnauthorizedError } from '../../errors/index.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    /** The principal of the request's bearer token once checked (null: none or invalid); undefined before. */
    bearerChecked: Principal | null | undefined
  }
  interface FastifyInstance {
    /** A preHandler that requires a valid bearer token with one of `roles` (admin has all). */
    requireRole: (...roles: Role[]) => onRequestAsyncHookHandler
    /** The principal of the request's bearer token, or null when it has none or an invalid one (never throws). */
    bearerPrincipal: (request: FastifyRequest) => Principal | null
  }
}

/**
 * Bearer-token authentication. Tokens are configured as sha256 hex; the presented token is
 * hashed and compared with every configured hash in constant time, so timing reveals nothing.
 */
export default fp(async function authPlugin (app) {
  const tokens = app.services.config.tokens.map((token) => ({ name: token.name, roles: token.roles, hash: Buffer.from(token.sha256, 'hex') }))

  function presentedToken (request: FastifyRequest): string | null {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    return match === null ? null : match[1] as string
  }

  function principalOfToken (token: string): Principal | null {
    const presented = sha256(token)
    let found: Principal | null = null
    for (const configured of tokens) {
      if (timingSafeEqual(presented, configured.hash)) found = { name: configured.name, roles: configured.roles }
    }
    return found
  }

  // A keep-alive connection (a CI job polling) sends the same token with every request. Once a
  // token has proved valid on a connection, the same token on it again is recognised by a
  // constant-time comparison with what that connection presented, without hashing it again (2–3 µs
  // of SHA-256 here, a few percent of a poll's CPU). A different token, an invalid one, or a new
  // connection goes through the full check. Constant time matters here too: behind a proxy that reuses
  // upstream connections, the previous request on a connection may be another client's.
  const provenOnConnection = new WeakMap<object, { token: Buffer, principal: Principal }>()
  function principalOfRequestToken (request: FastifyRequest, token: string): Principal | null {
    const connection = request.raw.socket as object | null
    if (connection === null) return principalOfToken(token)
    const presented = Buffer.from(token, 'utf8')
    const proven = provenOnConnection.get(connection)
    if (proven !== undefined && proven.token.length === presented.length && timingSafeEqual(proven.token, presented)) return proven.principal
    const principal = principalOfToken(token)
    if (principal !== null) provenOnConnection.set(connection, { token: presented, principal })
    return principal
  }

  // The rate limit (which runs first) and the route's role check both need the principal: the
  // token is checked once per request, the answer kept on the request (a field every request
  // has, not a WeakMap entry per request for the garbage collector to trace).
  function bearerPrincipal (request: FastifyRequest): Principal | null {
    if (request.bearerChecked === undefined) {
      const token = presentedToken(request)
      request.bearerChecked = token === null ? null : principalOfRequestToken(request, token)
    }
    return request.bearerChecked
  }

  function authenticate (request: FastifyRequest): Principal {
    const found = bearerPrincipal(request)
    if (found === null) {
      if (presentedToken(request) === null) throw new UnauthorizedError()
      throw new UnauthorizedError('the bearer token is not valid: check DEPLOYER_TOKEN or ask an operator for a token')
    }
    return found
  }

  app.decorateRequest('principal', null)
  app.decorateRequest('bearerChecked', undefined)
  app.decorate('bearerPrincipal', bearerPrincipal)
  app.decorate('requireRole', (...roles: Role[]): onRequestAsyncHookHandler => {
    return async function requireRolePreHandler (request: FastifyRequest, _reply: FastifyReply) {
      const principal = authenticate(request)
      request.principal = principal
      if (!hasRole(principal, roles)) {
        throw new ForbiddenError(`${principal.name} lacks the role for this action: needs one of ${[...roles, 'admin'].filter((r, i, all) => all.indexOf(r) === i).join(', ')}`)
      }
    }
  })
}, { name: 'auth' })

// The one-shot crypto.hash (Node 20.12+) costs a third less than a Hash object; it is on every request.
const sha256: (text: string) => Buffer = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'buffer')
  : (text) => crypto.createHash('sha256').update(text).digest()

/** The principal of an authenticated request (routes call this after `requireRole`). */
export function principalOf (request: FastifyRequest): Principal {
  if (request.principal === null) throw new UnauthorizedError()
  return request.principal
}
