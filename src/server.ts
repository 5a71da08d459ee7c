import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import app from './app.js'
import { OneLineRequestLog } from './api/request-log.js'
import { frameworkErrorHandler } from './api/plugins/errors.js'
import type { Runtime } from './process/runtime.js'

/** Builds the API on a runtime, ready to listen (or to `inject` in tests). */
export async function buildServer (runtime: Runtime): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    logController: new OneLineRequestLog(runtime.logger),
    bodyLimit: runtime.config.limits.body_bytes,
    // Ids are short; anything longer than this is refused by the router before any work.
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: frameworkErrorHandler
  })
  await server.register(app, {
    services: {
      config: runtime.config,
      pool: runtime.pool,
      queue: runtime.queue,
      redis: runtime.redis,
      logger: runtime.logger,
      env: runtime.pipeline.env,
      ...(runtime.settings.reliability === undefined ? {} : { enqueueTimeoutMs: runtime.settings.reliability.enqueueTimeoutMs })
    }
  })
  return server
}
