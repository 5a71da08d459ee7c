import type { ConnectionOptions, Queue } from 'bullmq'
import type { Registry } from 'prom-client'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { createScrapeRegistry } from '../../metrics/scrape.js'
import { createWebhookQueue } from '../../notifications/webhook-queue.js'
import { authErrors } from '../../schemas/common.js'

const METRICS_EXAMPLE = `# HELP migration_deployer_pending_approvals Deployments waiting for approval, by environment
# TYPE migration_deployer_pending_approvals gauge
migration_deployer_pending_approvals{environment="production"} 1
`

/**
 * GET /metrics in the Prometheus text format: this process's metrics (default process metrics,
 * and in an all-in-one process the worker's histograms) plus gauges read at scrape time from the
 * control database and the queues. Needs a token with any role, like every other route.
 */
const metricsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { pool, queue, config } = app.services
  // Made on the first scrape: a process nobody scrapes holds no extra Redis connection.
  let registry: Registry | undefined
  let webhooks: Queue | undefined
  const scrapeRegistry = (): Registry => {
    if (registry !== undefined) return registry
    webhooks = createWebhookQueue(queue.name, queue.opts.connection as ConnectionOptions)
    webhooks.on('error', () => {})
    registry = createScrapeRegistry({ pool, queues: { deployments: queue, webhooks }, environments: Object.keys(config.environments) })
    return registry
  }
  app.addHook('onClose', async () => { await webhooks?.close() })

  app.get('/metrics', {
    onRequest: app.requireRole('viewer', 'deployer', 'approver'),
    schema: {
      operationId: 'getMetrics',
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description: 'Deployments finished by environment and status, pipeline, approval-wait and per-migration duration histograms (observed by worker processes), pending approvals, deployments in progress and queue depth (read from the shared state at scrape time: aggregate with max), and the default process metrics.',
      produces: ['text/plain'],
      response: { 200: z.string().meta({ description: 'Prometheus text exposition format 0.0.4', example: METRICS_EXAMPLE }), ...authErrors }
    }
  }, async (_request, reply) => {
    const scraped = scrapeRegistry()
    const text = await scraped.metrics()
    return await reply.type(scraped.contentType).send(text)
  })
}

export default metricsRoutes
