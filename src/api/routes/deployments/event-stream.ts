import type { FastifyReply, FastifyRequest } from 'fastify'
import { maskSecrets } from '../../../lib/mask-secrets.js'
import type { DeploymentEvent } from '../../../store/events.js'
import type { StreamState } from '../../../store/stream-state.js'
import type { EventHub } from '../../plugins/event-hub.js'

/** A comment line this often keeps proxies from closing an idle stream. */
export const HEARTBEAT_MS = 15_000
/** A finished deployment whose closing banner never comes (its worker died in between) still ends. */
const CLOSING_GRACE_MS = 5_000

/** The API's view of one event, shared by the JSON and the Server-Sent Events forms. */
export function toEventJson (event: DeploymentEvent): Pick<DeploymentEvent, 'id' | 'type' | 'actor' | 'actor_identity' | 'message' | 'data'> & { created_at: string } {
  return {
    id: event.id,
    type: event.type,
    actor: event.actor,
    actor_identity: event.actor_identity ?? null,
    message: event.message === null ? null : maskSecrets(event.message),
    data: event.data,
    created_at: event.created_at.toISOString()
  }
}

/** True when the client asked for Server-Sent Events; JSON stays the default for every other Accept. */
export function wantsEventStream (accept: string | undefined): boolean {
  return accept !== undefined && accept.toLowerCase().includes('text/event-stream')
}

/**
 * Streams a deployment's events as Server-Sent Events: every event after `afterId`, then each new
 * one as it commits (the hub is woken by LISTEN/NOTIFY, never by polling), each with `id:` = the
 * event's id so a client resumes with `Last-Event-ID`. After the closing banner of a finished
 * deployment it sends `event: end` with the final status and closes.
 */
export async function streamDeploymentEvents (
  request: FastifyRequest,
  reply: FastifyReply,
  options: { hub: EventHub; deploymentId: string; afterId: number }
): Promise<void> {
  const { hub, deploymentId } = options
  const response = reply.raw
  let lastId = options.afterId
  let ended = false
  let graceTimer: NodeJS.Timeout | undefined
  // eslint-disable-next-line prefer-const -- assigned below, after cleanup (which clears it) is defined
  let heartbeat: NodeJS.Timeout | undefined
  let unsubscribe: () => void = () => {}

  const cleanup = (): void => {
    ended = true
    clearTimeout(graceTimer)
    clearInterval(heartbeat)
    unsubscribe()
  }
  const finish = (status?: string): void => {
    if (ended) return
    cleanup()
    if (status !== undefined) response.write(`event: end\ndata: ${JSON.stringify({ status })}\n\n`)
    response.end()
  }
  const deliver = (events: DeploymentEvent[], state: StreamState | undefined): void => {
    if (ended) return
    for (const event of events) {
      response.write(`id: ${event.id}\ndata: ${JSON.stringify(toEventJson(event))}\n\n`)
      lastId = event.id
    }
    if (state === undefined) {
      finish()
      return
    }
    if (!state.terminal) return
    if (state.closingEventId === null) graceTimer ??= setTimeout(() => finish(state.status), CLOSING_GRACE_MS)
    else if (lastId >= state.closingEventId) finish(state.status)
    // The closing line committed after this read: read again.
    else hub.refresh(deploymentId)
  }

  reply.hijack()
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  })
  response.write('retry: 2000\n\n')
  request.raw.on('close', cleanup)
  heartbeat = setInterval(() => response.write(': keepalive\n\n'), HEARTBEAT_MS)
  try {
    const stop = await hub.subscribe(deploymentId, { lastId: () => lastId, deliver, end: () => finish() })
    if (ended) stop()
    else unsubscribe = stop
  } catch (error) {
    request.log.warn({ deployment_id: deploymentId, err: { message: (error as Error).message } }, 'cannot follow events; closing the stream')
    finish()
  }
}
