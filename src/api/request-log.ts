import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { maskSecrets } from '../lib/mask-secrets.js'

/**
 * One access-log line per request instead of Fastify's two ("incoming request" and "request
 * completed"): the finished line carries the request (method, url, address) and the response
 * (status, time) as flat fields, which is all the first line said. CI fleets poll hard; each log
 * line costs serialization, redaction and a write, so halving them is the cheapest speed-up there is.
 *
 * Successful lines go through `access`, a child of the process logger without path redaction:
 * they hold only the scalar fields below (the url decoded and masked like every message), so redaction has
 * nothing to find in them, and it was the largest part of their cost. Errors carry an error object
 * and go through the request's own, redacting logger.
 */
export class OneLineRequestLog extends LogController {
  private readonly access: Logger

  constructor (logger: Logger) {
    super()
    this.access = logger.child({}, { redact: [] })
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      reqId: request.id,
      method: request.method,
      url: loggedUrl(request.url),
      statusCode: reply.statusCode,
      remoteAddress: request.ip,
      responseTime: reply.elapsedTime
    }
    if (error !== null && error !== undefined) (reply.log as FastifyBaseLogger).error({ ...line, err: error }, 'request errored')
    else this.access.info(line, 'request completed')
  }
}

/**
 * The URL as logged: percent-decoded once (a connection URL pasted into a path arrives as
 * `postgres:%2F%2Fuser:password@…`, which no URL pattern recognises encoded) and then masked.
 */
function loggedUrl (url: string): string {
  if (!url.includes('%')) return maskSecrets(url)
  try {
    return maskSecrets(decodeURIComponent(url))
  } catch {
    return maskSecrets(url)
  }
}
