import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { pingControlDatabase } from '../../store/pool.js'

const readySchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ control_database: z.enum(['ok', 'unavailable']), redis: z.enum(['ok', 'unavailable']) })
})

async function within<T> (ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Liveness (the process answers) and readiness (control database and Redis reachable). */
const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    schema: { operationId: 'getLiveness', tags: ['operations'], summary: 'Liveness', security: [], response: { 200: z.object({ status: z.literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    schema: {
      operationId: 'getReadiness',
      tags: ['operations'],
      summary: 'Readiness: control database and Redis reachable',
      security: [],
      response: { 200: readySchema, 503: readySchema }
    }
  }, async (_request, reply) => {
    const [db, redis] = await Promise.all([
      within(2000, pingControlDatabase(app.services.pool)).then(() => 'ok' as const, () => 'unavailable' as const),
      within(2000, app.services.redis.ping()).then(() => 'ok' as const, () => 'unavailable' as const)
    ])
    const ok = db === 'ok' && redis === 'ok'
    return await reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: { control_database: db, redis } })
  })
}

export default healthRoutes
