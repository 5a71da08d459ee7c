import Fastify, { type RouteOptions } from 'fastify'
import type { Logger } from 'pino'
import { pino } from 'pino'
import app from './app.js'
import { parseConfig } from './config/load.js'
import type { ApiServices } from './api/services.js'

/**
 * Builds the API's OpenAPI document from the routes' zod schemas, without any database, queue or
 * config file: what `npm run openapi` writes to openapi/openapi.json and the drift test compares.
 */
export async function generateOpenApiDocument (options: { onRoute?: (route: RouteOptions) => void } = {}): Promise<Record<string, unknown>> {
  const config = parseConfig({ environments: { dev: { database_url_env: 'DEV_DATABASE_URL' } } }, process.cwd(), 'openapi-generator')
  // The rate limiter reads the queue's name and takes its store at registration: no Redis here, so
  // it gets none (its in-memory store) and a name; any other use of the queue still throws.
  const queue = new Proxy({ name: 'openapi-generator' }, { get: (target, key) => { if (key === 'name') return target.name; throw new Error('the OpenAPI generator touched the queue') } })
  const services = { config, pool: { options: {} }, queue, redis: undefined, logger: pino({ level: 'silent' }) as Logger } as unknown as ApiServices
  const server = Fastify({ logger: false })
  // Tests look at every route as registered, hidden ones included.
  if (options.onRoute !== undefined) server.addHook('onRoute', options.onRoute)
  try {
    await server.register(app, { services })
    await server.ready()
    return server.swagger() as unknown as Record<string, unknown>
  } finally {
    await server.close()
  }
}

/** The committed file's exact text: two-space JSON and a final newline. */
export function serializeOpenApi (document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`
}
