import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet from 'helmet'

/**
 * The headers `helmet` sets for `options`, worked out once. Helmet's headers depend on its
 * options only (no nonces here), so every response can get the same ones without running its
 * middleware (and, as @fastify/helmet does, rebuilding it from the options) on every request.
 */
function helmetHeaders (options: Parameters<typeof helmet>[0]): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined && error !== null) throw error
  })
  return headers
}

/**
 * Security headers on every response (helmet's). The API serves JSON and text, never pages, so
 * its content security policy allows nothing; the docs UI at /docs and the review page at /ui
 * set their own policies for their static files.
 */
export default fp(async function securityHeadersPlugin (app) {
  const headers = helmetHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] }
    },
    // Bearer tokens are not cookies; keep the API callable from other origins' tooling (curl, CI).
    crossOriginResourcePolicy: { policy: 'same-site' }
  })
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'security-headers' })
