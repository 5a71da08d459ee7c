import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { safeErrorMessage } from '../../../lib/mask-secrets.js'
import { withTimeout } from '../../../lib/with-timeout.js'
import { DEFAULT_RELIABILITY } from '../../../config/reliability.js'
import { overrideWindow } from '../../../pipeline/deployment-window.js'
import { enqueueDeploymentPhase } from '../../../queue/deployment-jobs.js'
import { authErrors, deploymentIdParams, errorBodySchema } from '../../../schemas/common.js'
import { deploymentSchema } from '../../../schemas/deployment.js'
import { overrideWindowBody } from '../../../schemas/windows.js'
import { loadDeploymentResource } from '../../deployment-reads.js'
import { principalOf } from '../../plugins/auth.js'

/**
 * `POST /deployments/:id/override-window {reason}` (SPEC §15): an admin's break-glass start of a
 * deployment waiting for its window. Audited with the reason and sent as `window.overridden`.
 */
const overrideWindowRoute: FastifyPluginAsyncZod = async (app) => {
  const { pool, config, queue, logger } = app.services
  const enqueueTimeoutMs = app.services.enqueueTimeoutMs ?? DEFAULT_RELIABILITY.enqueueTimeoutMs
  app.post('/deployments/:id/override-window', {
    onRequest: app.requireRole('admin'),
    schema: {
      operationId: 'overrideDeploymentWindow',
      tags: ['deployments'],
      summary: 'Start a deployment waiting for its window now (admin; the reason is audited)',
      params: deploymentIdParams,
      body: overrideWindowBody,
      response: { 200: deploymentSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, ...authErrors }
    }
  }, async (request) => {
    const queued = await overrideWindow(pool, config, logger, principalOf(request), request.params.id, request.body.reason)
    try {
      await withTimeout(enqueueDeploymentPhase(queue, queued.id, 'apply'), enqueueTimeoutMs, 'the queue (Redis)')
    } catch (error) {
      logger.warn({ deployment_id: queued.id, err: { message: safeErrorMessage(error) } }, 'could not enqueue; the reconciler will')
    }
    return await loadDeploymentResource(pool, request.params.id)
  })
}

export default overrideWindowRoute
