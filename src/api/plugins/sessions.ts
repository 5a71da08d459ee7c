import cookie from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { SessionStore } from '../../auth/session-store.js'
import { SsoClient } from '../../auth/sso-client.js'

/** People's sign-in: the provider's client, the sessions, and the cookies that carry their ids. */
export interface SsoRuntime {
  client: SsoClient
  store: SessionStore
  /** The id in the session cookie, if the request has one. */
  sessionIdOf: (request: FastifyRequest) => string | undefined
  setSessionCookie: (reply: FastifyReply, id: string, maxAgeMs: number) => void
  clearSessionCookie: (reply: FastifyReply) => void
  /** The id in the short-lived cookie of a sign-in in progress. */
  loginIdOf: (request: FastifyRequest) => string | undefined
  setLoginCookie: (reply: FastifyReply, id: string) => void
  clearLoginCookie: (reply: FastifyReply) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** People's sign-in (`auth.sso`), or null when it is not configured (bearer tokens only). */
    sso: SsoRuntime | null
  }
}

/**
 * Server-side sessions for people who sign in through SSO (SPEC §13). The cookie holds only a
 * random id: HttpOnly (no script reads it), SameSite=Strict (no other site's page makes the browser
 * send it) and, when the service's public URL is https, Secure with the `__Host-` prefix (no
 * subdomain can set or shadow it). The session itself (name, roles, CSRF token) is in Redis.
 * Without `auth.sso` nothing is registered and no request pays for cookies.
 */
export default fp(async function sessionsPlugin (app) {
  const { config, redis, queue, env } = app.services
  const sso = config.sso
  if (sso === undefined) {
    app.decorate('sso', null)
    return
  }
  // Cookies are parsed only where a session can matter (see auth.ts), not on every request.
  await app.register(cookie, { hook: false })
  const secure = new URL(sso.redirect_url).protocol === 'https:'
  const sessionCookie = secure ? '__Host-md_session' : 'md_session'
  const loginCookie = secure ? '__Host-md_sso_login' : 'md_sso_login'
  const base = { path: '/', httpOnly: true, secure }

  const cookieOf = (request: FastifyRequest, name: string): string | undefined => {
    const header = request.headers.cookie
    return header === undefined ? undefined : app.parseCookie(header)[name]
  }

  app.decorate('sso', {
    client: new SsoClient(sso, env ?? process.env),
    store: new SessionStore(redis, `${queue.name}:sso:`, { idleMs: sso.idle_timeout, absoluteMs: sso.absolute_timeout }),
    sessionIdOf: (request) => cookieOf(request, sessionCookie),
    setSessionCookie: (reply, id, maxAgeMs) => {
      void reply.setCookie(sessionCookie, id, { ...base, sameSite: 'strict', maxAge: Math.floor(maxAgeMs / 1000) })
    },
    clearSessionCookie: (reply) => { void reply.clearCookie(sessionCookie, { ...base, sameSite: 'strict' }) },
    loginIdOf: (request) => cookieOf(request, loginCookie),
    // Lax, not Strict: the provider sends the person back with a top-level navigation from its own site.
    setLoginCookie: (reply, id) => { void reply.setCookie(loginCookie, id, { ...base, sameSite: 'lax', maxAge: 600 }) },
    clearLoginCookie: (reply) => { void reply.clearCookie(loginCookie, { ...base, sameSite: 'lax' }) }
  } satisfies SsoRuntime)
}, { name: 'sessions' })
