import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { RateLimitedError } from '../../errors/index.js'
import { LeasedRedisStore } from '../leased-rate-limit-store.js'
import { checkedPrincipal, type AuthOutcome } from './auth.js'

// Probes from load balancers and orchestrators are never limited.
const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz'])

/**
 * Rate limit per token (`limits.rate_limit`), counted in Redis so every API process shares the
 * count. It runs before authentication: requests without a valid token share one bucket per
 * address, so guessing tokens is limited too. Over the limit: 429 with `Retry-After` and the
 * usual error body. If Redis cannot be reached the request goes through (the limit protects the
 * service; it must not take it down).
 */
export default fp(async function rateLimitPlugin (app) {
  const { max, window } = app.services.config.limits.rate_limit
  const keyFor = (request: FastifyRequest, outcome: AuthOutcome): string =>
    outcome !== null && 'principal' in outcome ? `token:${outcome.principal.name}` : `address:${request.ip}`
  // Synchronous for a static token (every poll): an OIDC token or a session is checked asynchronously.
  const keyOf = (request: FastifyRequest): string | Promise<string> => {
    const outcome = app.authenticateRequest(request)
    return outcome instanceof Promise ? outcome.then((settled) => keyFor(request, settled)) : keyFor(request, outcome)
  }
  await app.register(rateLimit, {
    global: false,
    max,
    timeWindow: window,
    // Counted in Redis in leased blocks (see LeasedRedisStore). The queue name identifies one
    // deployment of the service (tests give each run its own).
    store: LeasedRedisStore.on(app.services.redis, `${app.services.queue.name}:rate-limit:`),
    skipOnError: true,
    keyGenerator: keyOf,
    allowList: (request) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? ''),
    errorResponseBuilder: (request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000))
      // Built after keyGenerator ran: the credentials are checked and their principal is known.
      const principal = checkedPrincipal(request)
      const who = principal !== null ? `token ${principal.name}` : 'requests without a valid token from this address'
      return new RateLimitedError(`too many requests for ${who}: at most ${context.max} per ${window / 1000}s; retry in ${retryAfter}s (see the Retry-After header)`, { limit: context.max, window_seconds: window / 1000, retry_after_seconds: retryAfter })
    }
  })
  // A global hook runs before every route's own onRequest hooks, so before authentication.
  app.addHook('onRequest', app.rateLimit())
}, { name: 'rate-limit', dependencies: ['auth'] })
