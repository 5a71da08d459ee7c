import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { batched } from '../../../lib/batched.js'
import { safeErrorMessage } from '../../../lib/mask-secrets.js'
import { withTimeout } from '../../../lib/with-timeout.js'
import { DEFAULT_RELIABILITY } from '../../../config/reliability.js'
import { createdDeploymentSchema, createDeploymentHeaders } from '../../../schemas/create-deployment-response.js'
import { createOnce, idempotencyKeyOf } from '../../idempotency.js'
import { enqueueDeploymentPhases, type PhaseToEnqueue } from '../../../queue/deployment-jobs.js'
import { approveDeployment, cancelDeployment, rejectDeployment } from '../../../pipeline/approval-actions.js'
import { createDeployment, recordWithinQueuedWorkLimit } from '../../../pipeline/create-deployment.js'
import { authErrors, deploymentIdParams, errorBodySchema } from '../../../schemas/common.js'
import { approveBody, createDeploymentBody, deploymentListSchema, deploymentSchema, listDeploymentsQuery, rejectBody } from '../../../schemas/deployment.js'
import { listDeployments, type DeploymentToInsert } from '../../../store/deployments.js'
import type { DeploymentRow } from '../../../domain/index.js'
import { listEvents, listLogLines } from '../../../store/events.js'
import { matchesEntityTag } from '../../entity-tag.js'
import { createDeploymentReads, loadDeploymentResource } from '../../deployment-reads.js'
import { decodeCursor, encodeCursor, toDeploymentResource, toDeploymentSummary } from '../../deployment-resource.js'
import { principalOf } from '../../plugins/auth.js'
import { assertMayActIn, readableEnvironments } from '../../../auth/environment-scope.js'
import { assertReadableDeployment, isScoped } from './readable-deployment.js'
import { unwrapEnvelope } from './envelope.js'
import { fleetTargetRoutes } from './fleet-targets.js'
import { streamDeploymentEvents, toEventJson, wantsEventStream } from './event-stream.js'

const READ_ROLES = ['viewer', 'deployer', 'approver'] as const

// How concurrent POST /deployments share round trips: up to 100 rows per INSERT with two in flight
// (the pool's other connections stay free for reads), up to 100 jobs per call to Redis.
const INSERT_BATCHES = { maxBatchSize: 100, maxInFlight: 2 }
const ENQUEUE_BATCHES = { maxBatchSize: 100, maxInFlight: 2 }

const QUEUE_UNAVAILABLE_WARNING = 'the queue (Redis) is unavailable: the deployment is recorded and a worker will pick it up when the queue is back'

const eventSchema = z.object({
  id: z.number().int().meta({ description: 'Increasing; the SSE `id:` and the `Last-Event-ID` to resume after' }),
  type: z.string().meta({ example: 'log' }),
  actor: z.string().nullable().meta({ example: null }),
  actor_identity: z.object({
    method: z.enum(['oidc', 'sso']),
    issuer: z.string(),
    subject: z.string(),
    provider: z.string().optional(),
    person: z.string().optional()
  }).nullable().meta({
    description: 'For an actor that signed in with an OIDC token (CI) or SSO (a person): the issuer, the subject and the person behind it; ' +
      'null for static tokens and the service',
    example: null
  }),
  message: z.string().nullable().meta({ description: 'The line this event adds to the human log, if any', example: '✓ Configuration loaded' }),
  data: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string().meta({ example: '2025-01-24T10:30:00.000Z' })
}).meta({ id: 'DeploymentEvent' })

const eventListSchema = z.object({ events: z.array(eventSchema) }).meta({ id: 'DeploymentEventList' })

const eventsQuery = z.object({
  last_event_id: z.coerce.number().int().min(0).optional().meta({ description: 'Only events after this id (same as the Last-Event-ID header)' })
})

// Accept (text/event-stream or not) is described on the route: OpenAPI ignores an Accept parameter.
const eventsHeaders = z.looseObject({
  'last-event-id': z.string().regex(/^[0-9]{1,15}$/, 'Last-Event-ID must be an event id (digits)').optional().meta({ description: 'Resume after this event id', example: '42' })
})

const notModified = z.null().meta({ description: 'Not modified: the deployment still matches the If-None-Match ETag' })

/** The deployments resource: create, list, read, approve, reject, cancel, log, events. */
const deploymentRoutes: FastifyPluginAsyncZod = async (app) => {
  const { pool, config, queue, logger } = app.services
  const enqueueTimeoutMs = app.services.enqueueTimeoutMs ?? DEFAULT_RELIABILITY.enqueueTimeoutMs

  const polled = createDeploymentReads(pool)
  await app.register(fleetTargetRoutes)
  // Concurrent requests share round trips: their deployments are recorded by one transaction (each
  // token within its queued-work limit), and their jobs enqueued by one call to Redis (see batched).
  // Each still answers only after its own row is committed and its own job is queued.
  const insert = batched<DeploymentToInsert, DeploymentRow>(
    async (items) => await recordWithinQueuedWorkLimit(pool, items, config.limits.queued_per_token),
    INSERT_BATCHES
  )
  const enqueuePhase = batched(async (jobs: readonly PhaseToEnqueue[]) => {
    await enqueueDeploymentPhases(queue, jobs)
    return jobs.map(() => undefined)
  }, ENQUEUE_BATCHES)

  /** A 404 for a deployment that does not exist, or that the caller's environments do not cover. */
  async function mustBeReadable (request: FastifyRequest, id: string): Promise<void> {
    await assertReadableDeployment(pool, principalOf(request), id)
  }

  /**
   * Enqueues after the row is committed; a Redis outage (or a Redis slower than the enqueue
   * timeout) leaves the row for the workers' reconciler. Returns false when it did.
   */
  async function enqueue (row: DeploymentRow, phase: 'plan' | 'apply'): Promise<boolean> {
    try {
      await withTimeout(enqueuePhase({ deploymentId: row.id, phase, preview: row.dry_run }), enqueueTimeoutMs, 'the queue (Redis)')
      return true
    } catch (error) {
      logger.warn({ deployment_id: row.id, err: { message: safeErrorMessage(error) } }, 'could not enqueue; the worker will pick the deployment up when the queue is back')
      return false
    }
  }

  app.post(
    '/deployments',
    {
      onRequest: app.requireRole('deployer'),
      preValidation: unwrapEnvelope,
      schema: {
        operationId: 'createDeployment',
        tags: ['deployments'],
        summary: 'Create a deployment',
        description:
          'Records the deployment and queues its plan phase. Protected environments stop in `pending_approval`. ' +
          'With an `Idempotency-Key` header, a retry with the same key and body (same token, within 24 h) returns the same deployment with 200; the same key with another body is a 409. ' +
          'If the queue is unavailable the deployment is still recorded (202 with `warnings`) and a worker picks it up when the queue is back. ' +
          'A migration holding more statements than `limits.max_statements_per_migration` is a 422 (`MIGRATION_TOO_LARGE`); a token that already has ' +
          '`limits.queued_per_token` deployments queued or running gets a 429 (`TOO_MANY_QUEUED`, with Retry-After) until some finish. ' +
          'Dry runs wait behind real deployments in the queue.',
        headers: createDeploymentHeaders,
        body: createDeploymentBody,
        response: {
          200: createdDeploymentSchema,
          202: createdDeploymentSchema,
          400: errorBodySchema,
          409: errorBodySchema,
          413: errorBodySchema,
          422: errorBodySchema,
          503: errorBodySchema,
          ...authErrors
        }
      }
    },
    async (request, reply) => {
      const principal = principalOf(request)
      assertMayActIn(principal, request.body.environment)
      const key = idempotencyKeyOf(request)
      let row: DeploymentRow
      if (key === undefined) {
        row = await createDeployment(pool, config, principal, request.body, { insert })
      } else {
        const outcome = await createOnce(
          pool,
          principal.name,
          key,
          request.body,
          async (inTransaction) => await createDeployment(pool, config, principal, request.body, { inTransaction })
        )
        if ('replayOf' in outcome) {
          return await reply
            .code(200)
            .header('location', `/deployments/${outcome.replayOf}`)
            .header('idempotent-replayed', 'true')
            .send(await loadDeploymentResource(pool, outcome.replayOf))
        }
        row = outcome.created
      }
      const queued = await enqueue(row, 'plan')
      const resource = toDeploymentResource(row, [])
      return await reply
        .code(202)
        .header('location', `/deployments/${row.id}`)
        .send(queued ? resource : { ...resource, warnings: [QUEUE_UNAVAILABLE_WARNING] })
    }
  )

  app.get('/deployments', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: { operationId: 'listDeployments', tags: ['deployments'], summary: 'List deployments, newest first', querystring: listDeploymentsQuery, response: { 200: deploymentListSchema, 400: errorBodySchema, ...authErrors } }
  }, async (request) => {
    const { environment, status, limit, cursor } = request.query
    const environments = readableEnvironments(principalOf(request))
    const before = cursor === undefined ? undefined : decodeCursor(cursor)
    const rows = await listDeployments(pool, { environment, environments, status, limit: limit + 1, before })
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return { deployments: page.map(toDeploymentSummary), next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null }
  })

  app.get('/deployments/:id', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: {
      operationId: 'getDeployment',
      tags: ['deployments'],
      summary: 'One deployment',
      description: 'Carries an `ETag`; send it back as `If-None-Match` to get a bodiless 304 while nothing changed, so polling is cheap.',
      params: deploymentIdParams,
      headers: z.looseObject({ 'if-none-match': z.string().optional().meta({ description: 'The ETag of a previous response', example: '"3f1c0a9d2b7e4c6a8f0e1d2c3b4a5968"' }) }),
      response: { 200: deploymentSchema, 304: notModified, 404: errorBodySchema, ...authErrors }
    }
  }, async (request, reply) => {
    // Only a scoped principal pays the extra read: the poll of a static token stays one cached lookup.
    if (isScoped(principalOf(request))) await mustBeReadable(request, request.params.id)
    const { bytes, etag } = await polled.get(request.params.id)
    void reply.header('etag', etag).header('cache-control', 'private, no-cache')
    if (matchesEntityTag(request.headers['if-none-match'], etag)) return await reply.code(304).send(null)
    // Already serialized through the response schema (see createDeploymentReads): sent as they are.
    return await reply.type('application/json; charset=utf-8').send(bytes as unknown as z.output<typeof deploymentSchema>)
  })

  app.post('/deployments/:id/approve', {
    onRequest: app.requireRole('approver'),
    schema: { operationId: 'approveDeployment', tags: ['deployments'], summary: 'Approve the plan of a pending deployment', params: deploymentIdParams, body: approveBody.nullish(), response: { 200: deploymentSchema, 404: errorBodySchema, 409: errorBodySchema, 410: errorBodySchema, ...authErrors } }
  }, async (request) => {
    const result = await approveDeployment(pool, config, logger, principalOf(request), request.params.id, request.body?.comment ?? null)
    if (result.released) await enqueue(result.deployment, 'apply')
    return await loadDeploymentResource(pool, request.params.id)
  })

  app.post('/deployments/:id/reject', {
    onRequest: app.requireRole('approver'),
    schema: { operationId: 'rejectDeployment', tags: ['deployments'], summary: 'Reject a pending deployment', params: deploymentIdParams, body: rejectBody, response: { 200: deploymentSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, ...authErrors } }
  }, async (request) => {
    await rejectDeployment(pool, config, logger, principalOf(request), request.params.id, request.body.reason)
    return await loadDeploymentResource(pool, request.params.id)
  })

  app.post('/deployments/:id/cancel', {
    onRequest: app.requireRole('deployer'),
    schema: { operationId: 'cancelDeployment', tags: ['deployments'], summary: 'Cancel a queued or pending deployment', params: deploymentIdParams, response: { 200: deploymentSchema, 404: errorBodySchema, 409: errorBodySchema, ...authErrors } }
  }, async (request) => {
    await cancelDeployment(pool, config, logger, principalOf(request), request.params.id)
    return await loadDeploymentResource(pool, request.params.id)
  })

  app.get('/deployments/:id/log', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: { operationId: 'getDeploymentLog', tags: ['deployments'], summary: 'The human log (text/plain)', params: deploymentIdParams, produces: ['text/plain'], response: { 200: z.string(), 404: errorBodySchema, ...authErrors } }
  }, async (request, reply) => {
    await mustBeReadable(request, request.params.id)
    const lines = await listLogLines(pool, request.params.id)
    return await reply.type('text/plain; charset=utf-8').send(lines.length === 0 ? '' : `${lines.join('\n')}\n`)
  })

  app.get('/deployments/:id/events', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: {
      operationId: 'followDeploymentEvents',
      tags: ['deployments'],
      summary: 'Follow a deployment: Server-Sent Events, or the audit trail as JSON',
      description: 'With `Accept: text/event-stream`: every event (`id:` = the event id, `data:` = the event as JSON), then each new one live, ending with `event: end` (`data: {"status": …}`) after the closing log line of a finished deployment. Resume with the `Last-Event-ID` header (or `last_event_id`). Any other Accept gets the events as JSON.',
      params: deploymentIdParams,
      querystring: eventsQuery,
      headers: eventsHeaders,
      'x-event-stream': { description: 'Server-Sent Events: `retry: 2000`, then per event `id: <event id>` and `data: <DeploymentEvent as JSON>`; `: keepalive` comments every 15 s; finally `event: end` with `data: {"status": "<final status>"}`', example: 'id: 42\ndata: {"id":42,"type":"log","actor":null,"message":"✓ Configuration loaded","data":null,"created_at":"2025-01-24T10:30:00.000Z"}\n\nevent: end\ndata: {"status":"succeeded"}\n\n' },
      response: { 200: eventListSchema, 400: errorBodySchema, 404: errorBodySchema, ...authErrors }
    }
  }, async (request, reply) => {
    const header = request.headers['last-event-id']
    const afterId = request.query.last_event_id ?? (header === undefined ? 0 : Number(header))
    await mustBeReadable(request, request.params.id)
    if (wantsEventStream(request.headers.accept)) {
      await streamDeploymentEvents(request, reply, { hub: app.eventHub, deploymentId: request.params.id, afterId })
      return reply
    }
    const events = await listEvents(pool, request.params.id, afterId)
    return { events: events.map(toEventJson) }
  })
}

export default deploymentRoutes
