import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { retryFleetDeployment } from '../../../pipeline/fleet/retry-fleet.js'
import { enqueueDeploymentPhase } from '../../../queue/deployment-jobs.js'
import { authErrors, deploymentIdParams, errorBodySchema } from '../../../schemas/common.js'
import { createdDeploymentSchema } from '../../../schemas/create-deployment-response.js'
import { fleetTargetListSchema, listFleetTargetsQuery } from '../../../schemas/fleet.js'
import { fleetSummary, listFleetTargets } from '../../../store/fleet-targets.js'
import { safeErrorMessage } from '../../../lib/mask-secrets.js'
import { toDeploymentResource } from '../../deployment-resource.js'
import { principalOf } from '../../plugins/auth.js'
import { assertReadableDeployment } from './readable-deployment.js'

/** A fleet deployment's targets (paged, by status) and its retry (SPEC §14). */
export const fleetTargetRoutes: FastifyPluginAsyncZod = async (app) => {
  const { pool, config, queue, logger } = app.services

  app.get('/deployments/:id/targets', {
    onRequest: app.requireRole('viewer', 'deployer', 'approver'),
    schema: {
      tags: ['deployments'],
      operationId: 'listDeploymentTargets',
      summary: 'The targets of a fleet deployment',
      description: 'In plan order, paged with `cursor`, optionally of one `status`; with the counts by status. Never a target\'s URL.',
      params: deploymentIdParams,
      querystring: listFleetTargetsQuery,
      response: { 200: fleetTargetListSchema, 400: errorBodySchema, 404: errorBodySchema, ...authErrors }
    }
  }, async (request) => {
    const { id } = request.params
    const { status, limit, cursor } = request.query
    await assertReadableDeployment(pool, principalOf(request), id)
    const rows = await listFleetTargets(pool, id, { status, afterPosition: cursor === undefined ? -1 : Number(cursor), limit: limit + 1 })
    const page = rows.slice(0, limit)
    const summary = await fleetSummary(pool, id) ?? { total: 0, succeeded: 0, failed: 0, skipped: 0, running: 0, pending: 0 }
    return {
      targets: page.map((row) => ({
        name: row.name, group: row.group_index, status: row.status, migrations_applied: row.migrations_applied, error: row.error, report: row.report
      })),
      summary,
      next_cursor: rows.length > limit ? String(page[page.length - 1]?.position ?? '') : null
    }
  })

  app.post('/deployments/:id/retry', {
    onRequest: app.requireRole('deployer'),
    schema: {
      tags: ['deployments'],
      operationId: 'retryDeployment',
      summary: 'Retry a fleet deployment\'s targets that did not succeed',
      description: 'Creates a deployment of the same migrations to the failed and skipped targets of a finished fleet deployment, linked by `retry_of`. ' +
        'It plans afresh and passes the approval gate like any deployment.',
      params: deploymentIdParams,
      response: { 202: createdDeploymentSchema, 404: errorBodySchema, 409: errorBodySchema, ...authErrors }
    }
  }, async (request, reply) => {
    const row = await retryFleetDeployment(pool, config, principalOf(request), request.params.id)
    let warnings: string[] | undefined
    try {
      await enqueueDeploymentPhase(queue, row.id, 'plan')
    } catch (error) {
      logger.warn({ deployment_id: row.id, err: { message: safeErrorMessage(error) } }, 'could not enqueue the retry; the reconciler will')
      warnings = ['the queue (Redis) is unavailable: the deployment is recorded and a worker will pick it up when the queue is back']
    }
    const resource = { ...toDeploymentResource(row, [], { summary: null, retry_of: request.params.id }), ...(warnings === undefined ? {} : { warnings }) }
    return await reply.code(202).header('location', `/deployments/${row.id}`).send(resource)
  })
}
