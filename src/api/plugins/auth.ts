import crypto, { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { OidcAuthenticator } from '../../auth/oidc-authenticator.js'
import { hasRole, type Principal } from '../../auth/principal.js'
import type { Session } from '../../auth/session-store.js'
import type { Role } from '../../domain/index.js'
import { CsrfError, ForbiddenError, TokenRefusedError, UnauthorizedError, UnavailableError } from '../../errors/index.js'
import type { SsoRuntime } from './sessions.js'

/** What checking a request's credentials found: a principal (from a session: with it), a refusal, or no credentials. */
export type AuthOutcome = { principal: Principal, session?: { id: string, session: Session } } | { refused: Error } | null

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    /** The outcome of checking the request's credentials, once; undefined before. */
    authChecked: AuthOutcome | Promise<AuthOutcome> | undefined
  }
  interface FastifyInstance {
    /** A preHandler that requires valid credentials with one of `roles` (admin has all), and a CSRF token for a session's writes. */
    requireRole: (...roles: Role[]) => onRequestAsyncHookHandler
    /** The outcome of checking the request's credentials (memoized per request; never rejects). */
    authenticateRequest: (request: FastifyRequest) => AuthOutcome | Promise<AuthOutcome>
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Authentication, three ways (SPEC §4, §13):
 * - a static bearer token, configured as sha256 hex: the presented token is hashed and compared
 *   with every configured hash in constant time, so timing reveals nothing;
 * - a bearer token that is a JWT from a configured OIDC issuer (CI jobs), verified with jose and
 *   mapped to a principal by the issuer's rules (src/auth/oidc-authenticator.ts);
 * - no bearer token but a session cookie of a person signed in through SSO; a session's
 *   state-changing requests also need its CSRF token in X-CSRF-Token.
 */
export default fp(async function authPlugin (app) {
  const tokens = app.services.config.tokens.map((token) => ({ name: token.name, roles: token.roles, hash: Buffer.from(token.sha256, 'hex') }))
  const oidc = new OidcAuthenticator(app.services.config.oidc)

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

  // A keep-alive connection (a CI job polling) sends the same OIDC token with every request. Once
  // one has been verified on a connection, the same token on it again is recognised by a
  // constant-time comparison with what that connection presented, without verifying its signature
  // again (0.45–0.56 ms of CPU, about three times a whole poll's; bench/README.md), until it expires.
  // A different token, an invalid one, or a new connection goes through the full check. Constant
  // time matters here too: behind a proxy that reuses upstream connections, the previous request on
  // a connection may be another client's. Static tokens are not remembered: their check (SHA-256
  // and a constant-time comparison with each configured hash) costs about 3 µs, too little to be
  // worth a second way to be recognised.
  const provenOnConnection = new WeakMap<object, { token: Buffer, principal: Principal, expiresAt: number }>()
  function provenPrincipal (request: FastifyRequest, presented: Buffer): Principal | null {
    const connection = request.raw.socket as object | null
    const proven = connection === null ? undefined : provenOnConnection.get(connection)
    if (proven === undefined || proven.token.length !== presented.length || !timingSafeEqual(proven.token, presented)) return null
    return Date.now() < proven.expiresAt ? proven.principal : null
  }
  function remember (request: FastifyRequest, presented: Buffer, principal: Principal, expiresAt: number): void {
    const connection = request.raw.socket as object | null
    if (connection !== null) provenOnConnection.set(connection, { token: presented, principal, expiresAt })
  }

  // Synchronous for static tokens (the common case, on every poll): no promise to allocate.
  function checkBearer (request: FastifyRequest, token: string): AuthOutcome | Promise<AuthOutcome> {
    const presented = Buffer.from(token, 'utf8')
    const proven = provenPrincipal(request, presented)
    if (proven !== null) return { principal: proven }
    const principal = principalOfToken(token)
    if (principal !== null) return { principal }
    if (!oidc.enabled || !OidcAuthenticator.looksLikeJwt(token)) {
      return { refused: new UnauthorizedError('the bearer token is not valid: check DEPLOYER_TOKEN or ask an operator for a token') }
    }
    return oidc.authenticate(token).then((verified) => {
      remember(request, presented, verified.principal, verified.expiresAt)
      return { principal: verified.principal }
    }, (error: unknown) => ({ refused: error as Error }))
  }

  async function checkSession (sso: SsoRuntime, id: string): Promise<AuthOutcome> {
    let session: Session | null
    try {
      session = await sso.store.get(id)
    } catch (error) {
      return { refused: new UnavailableError('cannot read sessions now (Redis is unavailable): try again shortly', error) }
    }
    if (session === null) {
      return { refused: new TokenRefusedError('session_expired', 'your session has ended (signed out, idle too long or too old): sign in again') }
    }
    return { principal: session.principal, session: { id, session } }
  }

  // The rate limit (which runs first) and the route's role check both need the outcome: the
  // credentials are checked once per request, the answer (or the check in flight) kept on the request.
  function authenticateRequest (request: FastifyRequest): AuthOutcome | Promise<AuthOutcome> {
    if (request.authChecked === undefined) {
      const token = presentedToken(request)
      const sessionId = token === null ? app.sso?.sessionIdOf(request) : undefined
      const outcome = token !== null
        ? checkBearer(request, token)
        : sessionId === undefined ? null : checkSession(app.sso as SsoRuntime, sessionId)
      // Once settled, the plain outcome replaces the promise (see checkedPrincipal).
      request.authChecked = outcome instanceof Promise ? outcome.then((settled) => (request.authChecked = settled)) : outcome
    }
    return request.authChecked
  }

  app.decorateRequest('principal', null)
  app.decorateRequest('authChecked', undefined)
  app.decorate('authenticateRequest', authenticateRequest)
  app.decorate('requireRole', (...roles: Role[]): onRequestAsyncHookHandler => {
    return async function requireRolePreHandler (request: FastifyRequest, _reply: FastifyReply) {
      const outcome = await authenticateRequest(request)
      if (outcome === null) throw new UnauthorizedError()
      if ('refused' in outcome) throw outcome.refused
      if (outcome.session !== undefined && !SAFE_METHODS.has(request.method)) assertCsrfToken(request, outcome.session.session)
      const principal = outcome.principal
      request.principal = principal
      if (!hasRole(principal, roles)) {
        throw new ForbiddenError(`${principal.name} lacks the role for this action: needs one of ${[...roles, 'admin'].filter((r, i, all) => all.indexOf(r) === i).join(', ')}`)
      }
    }
  })
}, { name: 'auth', dependencies: ['sessions'] })

/** A session's state-changing request carries the session's CSRF token (compared in constant time). */
export function assertCsrfToken (request: FastifyRequest, session: Session): void {
  const header = request.headers['x-csrf-token']
  const presented = Buffer.from(typeof header === 'string' ? header : '', 'utf8')
  const expected = Buffer.from(session.csrf, 'utf8')
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw new CsrfError()
}

// The one-shot crypto.hash (Node 20.12+) costs a third less than a Hash object; it is on every request.
const sha256: (text: string) => Buffer = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'buffer')
  : (text) => crypto.createHash('sha256').update(text).digest()

/** The principal the request's credentials were found to be, once checked; null before, or without one. */
export function checkedPrincipal (request: FastifyRequest): Principal | null {
  const outcome = request.authChecked
  return outcome !== undefined && outcome !== null && !(outcome instanceof Promise) && 'principal' in outcome ? outcome.principal : null
}

/** The principal of an authenticated request (routes call this after `requireRole`). */
export function principalOf (request: FastifyRequest): Principal {
  if (request.principal === null) throw new UnauthorizedError()
  return request.principal
}
