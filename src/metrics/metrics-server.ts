import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { TokenConfig } from '../config/schema.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import type { Registry } from 'prom-client'

/**
 * A worker process's own /metrics (it has no API): the histograms it observes and the state
 * gauges, behind the same bearer tokens as the API. Listens on METRICS_PORT.
 */
export async function startMetricsServer (options: {
  registry: Registry
  tokens: TokenConfig[]
  host: string
  port: number
  logger: Logger
}): Promise<{ port: number; close: () => Promise<void> }> {
  const hashes = options.tokens.map((token) => Buffer.from(token.sha256, 'hex'))
  const authorized = (header: string | undefined): boolean => {
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (match === null) return false
    const presented = createHash('sha256')
      .update(match[1] as string)
      .digest()
    return hashes.some((hash) => timingSafeEqual(presented, hash))
  }
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only GET /metrics is served here' } }))
      return
    }
    if (!authorized(request.headers.authorization)) {
      response
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'send a bearer token from the config' } }))
      return
    }
    options.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': options.registry.contentType }).end(text)
      },
      (error: unknown) => {
        options.logger.error({ err: { message: safeErrorMessage(error) } }, 'metrics scrape failed')
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: 'metrics could not be collected' } }))
      }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, resolve)
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
