import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'

/**
 * Security headers on every response (`@fastify/helmet`). The API serves JSON and text, never
 * pages, so its content security policy allows nothing; the docs UI at /docs sets its own
 * policy for its static files (swagger-ui's `staticCSP`).
 */
export default fp(async function securityHeadersPlugin (app) {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] }
    },
    // Bearer tokens are not cookies; keep the API callable from other origins' tooling (curl, CI).
    crossOriginResourcePolicy: { policy: 'same-site' }
  })
}, { name: 'security-headers' })
