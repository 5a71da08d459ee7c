import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * One access-log line per request instead of Fastify's two ("incoming request" and "request
 * completed"): the finished line carries the request (method, url, address) and the response
 * (status, time) as flat fields, which is all the first line said. CI fleets poll hard; each log line costs
 * serialization, redaction and a write, so halving them is the cheapest speed-up there is.
 * Errors are still logged by the error handler, with the request id that ties them together.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Flat fields: nothing nested for the serializers to rebuild or the redaction to copy.
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, remoteAddress: request.ip, responseTime: reply.elapsedTime }
    if (error !== null && error !== undefined) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}
