import type { FastifyReply, FastifyRequest } from 'fastify'
import type pg from 'pg'
import { maskSecrets, safeErrorMessage } from '../../../lib/mask-secrets.js'
import { listEvents, type DeploymentEvent } from '../../../store/events.js'
import { readStreamState } from '../../../store/stream-state.js'
import type { EventHub } from '../../plugins/event-hub.js'

/** A comment line this often keeps proxies from closing an idle stream, and re-reads as a safety net. */
export const HEARTBEAT_MS = 15_000
/** A finished deployment whose closing banner never comes (its worker died in between) still ends. */
const CLOSING_GRACE_MS = 5_000

/** The API's view of one event, shared by the JSON and the Server-Sent Events forms. */
export function toEventJson (event: DeploymentEvent): { id: number, type: string, actor: string | null, message: string | null, data: Record<string, unknown> | null, created_at: string } {
  return { id: event.id, type: event.type, actor: event.actor, message: event.message === null ? null : maskSecrets(event.message), data: event.data, created_at: event.created_at.toISOString() }
}

/** True when the client asked for Server-Sent Events; JSON stays the default for every other Accept. */
export function wantsEventStream (accept: string | undefined): boolean {
  return accept !== undefined && accept.toLowerCase().includes('text/event-stream')
}

export interface StreamOptions {
  pool: pg.Pool
  hub: EventHub
  deploymentId: string
  /** Resume point: the Last-Event-ID the client saw (0 = from the start). */
  afterId: number
}

/**
 * Streams a deployment's events as Server-Sent Events: every event after `afterId`, then each new
 * one as it commits (woken by LISTEN/NOTIFY, never by polling), each with `id:` = the event's id so
 * a client resumes with `Last-Event-ID`. After the closing banner of a finished deployment it
 * sends `event: end` with the final status and closes.
 */
export async function streamDeploymentEvents (request: FastifyRequest, reply: FastifyReply, options: StreamOptions): Promise<void> {
  const { pool, deploymentId } = options
  let lastId = options.afterId
  let pumping = false
  let again = false
  let ended = false
  let graceTimer: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let unsubscribe: () => void = () => {}
  const response = reply.raw

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

  const pump = async (): Promise<void> => {
    if (pumping) { again = true; return }
    pumping = true
    try {
      do {
        again = false
        for (const event of await listEvents(pool, deploymentId, lastId)) {
          if (ended) return
          response.write(`id: ${event.id}\ndata: ${JSON.stringify(toEventJson(event))}\n\n`)
          lastId = event.id
        }
        const state = await readStreamState(pool, deploymentId)
        if (state === undefined) { finish(); return }
        if (state.terminal) {
          if (state.closingEventId === null) graceTimer ??= setTimeout(() => finish(state.status), CLOSING_GRACE_MS)
          else if (lastId >= state.closingEventId) { finish(state.status); return } else again = true
        }
      } while (again && !ended)
    } catch (error) {
      // The client reconnects with Last-Event-ID and loses nothing.
      request.log.warn({ deployment_id: deploymentId, err: { message: safeErrorMessage(error) } }, 'event stream failed; closing it')
      finish()
    } finally {
      pumping = false
    }
  }

  // Subscribe before the first read, so no event can commit unseen between the two.
  unsubscribe = await options.hub.subscribe(deploymentId, () => { void pump() }, () => finish())
  reply.hijack()
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  })
  response.write('retry: 2000\n\n')
  request.raw.on('close', cleanup)
  heartbeat = setInterval(() => {
    response.write(': keepalive\n\n')
    void pump()
  }, HEARTBEAT_MS)
  await pump()
}
