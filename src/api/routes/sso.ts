import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ROLES } from '../../domain/index.js'
import { AppError, NotFoundError } from '../../errors/index.js'
import { safeErrorMessage } from '../../lib/mask-secrets.js'
import { errorBodySchema } from '../../schemas/common.js'
import { assertCsrfToken } from '../plugins/auth.js'
import type { SsoRuntime } from '../plugins/sessions.js'

const sessionSchema = z.object({
  sso: z.boolean().meta({ description: 'Whether people can sign in through SSO here (GET /auth/sso/login)' }),
  session: z.object({
    name: z.string().meta({ example: 'alice' }),
    roles: z.array(z.enum(ROLES)).meta({ example: ['approver'] }),
    csrf_token: z.string().meta({ description: 'Send it as X-CSRF-Token with every state-changing request of this session' }),
    expires_at: z.string().meta({ description: 'When the session ends however active it is (absolute timeout)' })
  }).nullable()
}).meta({ id: 'AuthSession', description: 'The browser session of a person signed in through SSO, if any' })

/** A view of the review page to come back to after signing in: `#/…` with plain characters only. */
const returnTo = z.string().max(200).regex(/^#\/[A-Za-z0-9_\-./%]*$/, 'expected a view of the review page, like #/deployments/dep_01…').optional()

/** The review page, with a sign-in problem to show (a code from a fixed set, never the provider's text). */
const uiWithError = (code: string): string => `/ui?signin_error=${code}`

/**
 * People's sign-in (SPEC §13): `GET /auth/sso/login` sends the browser to the provider with a
 * PKCE challenge, `GET /auth/sso/callback` redeems the code and starts a server-side session,
 * `GET /auth/session` tells the page who is signed in (with the session's CSRF token), and
 * `POST /auth/logout` ends the session.
 */
const ssoRoutes: FastifyPluginAsyncZod = async (app) => {
  const requireSso = (): SsoRuntime => {
    if (app.sso === null) throw new NotFoundError('SSO is not configured here (auth.sso): sign in with a token')
    return app.sso
  }

  app.get('/auth/session', {
    schema: {
      operationId: 'getSession',
      tags: ['auth'],
      summary: 'The SSO session of this browser, if any',
      security: [],
      response: { 200: sessionSchema, 429: errorBodySchema, 503: errorBodySchema }
    }
  }, async (request, reply) => {
    if (app.sso === null) return { sso: false, session: null }
    const outcome = await app.authenticateRequest(request)
    if (outcome === null || !('principal' in outcome) || outcome.session === undefined) {
      if (outcome !== null && 'refused' in outcome && outcome.refused instanceof AppError && outcome.refused.statusCode >= 500) throw outcome.refused
      // The cookie of a session that has ended: the browser may forget it.
      if (app.sso.sessionIdOf(request) !== undefined) app.sso.clearSessionCookie(reply)
      return { sso: true, session: null }
    }
    const { principal } = outcome
    const { session } = outcome.session
    const expiresAt = new Date(session.expires_at).toISOString()
    return { sso: true, session: { name: principal.name, roles: [...principal.roles], csrf_token: session.csrf, expires_at: expiresAt } }
  })

  app.get('/auth/sso/login', {
    schema: {
      hide: true,
      querystring: z.object({ return_to: returnTo }),
      response: { 302: z.null(), 400: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema }
    }
  }, async (request, reply) => {
    const sso = requireSso()
    const { url, pending } = await sso.client.startLogin(request.query.return_to ?? '#/')
    const loginId = randomBytes(32).toString('base64url')
    await sso.store.savePendingLogin(loginId, pending)
    sso.setLoginCookie(reply, loginId)
    return await reply.header('cache-control', 'no-store').redirect(url.href, 302)
  })

  app.get('/auth/sso/callback', {
    schema: { hide: true, querystring: z.looseObject({}), response: { 303: z.null(), 404: errorBodySchema, 503: errorBodySchema } }
  }, async (request, reply) => {
    const sso = requireSso()
    void reply.header('cache-control', 'no-store')
    const loginId = sso.loginIdOf(request)
    sso.clearLoginCookie(reply)
    // Only the browser that started the sign-in can finish it (its cookie names the PKCE verifier).
    const pending = loginId === undefined ? null : await sso.store.takePendingLogin(loginId)
    if (pending === null) return await reply.redirect(uiWithError('expired'), 303)
    // The redirect URL as the provider knows it (the public one, behind any proxy), with the response's parameters.
    const callbackUrl = new URL(app.services.config.sso?.redirect_url as string)
    callbackUrl.search = new URL(request.url, 'http://localhost').search
    let principal
    try {
      principal = await sso.client.finishLogin(callbackUrl, pending)
    } catch (error) {
      request.log.warn({ err: { message: safeErrorMessage(error) } }, 'SSO sign-in refused')
      if (error instanceof AppError && error.statusCode === 403) return await reply.redirect(uiWithError('no_role'), 303)
      if (error instanceof AppError && error.statusCode >= 500) throw error
      return await reply.redirect(uiWithError('refused'), 303)
    }
    const { id, session } = await sso.store.create(principal)
    sso.setSessionCookie(reply, id, session.expires_at - session.created_at)
    request.log.info({ principal: principal.name, issuer: principal.identity?.issuer, subject: principal.identity?.subject }, 'signed in through SSO')
    return await reply.redirect(`/ui${pending.return_to === '#/' ? '' : pending.return_to}`, 303)
  })

  app.post('/auth/logout', {
    schema: {
      operationId: 'signOut',
      tags: ['auth'],
      summary: 'Sign out: end this browser\'s SSO session',
      security: [],
      description: 'Needs the session\'s CSRF token in X-CSRF-Token. Without a session there is nothing to end (204).',
      response: { 204: z.null(), 403: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema }
    }
  }, async (request, reply) => {
    const sso = app.sso
    const outcome = sso === null ? null : await app.authenticateRequest(request)
    if (sso !== null && outcome !== null && 'principal' in outcome && outcome.session !== undefined) {
      assertCsrfToken(request, outcome.session.session)
      await sso.store.destroy(outcome.session.id)
      request.log.info({ principal: outcome.principal.name }, 'signed out')
    }
    if (sso !== null) sso.clearSessionCookie(reply)
    return await reply.code(204).send(null)
  })
}

export default ssoRoutes
