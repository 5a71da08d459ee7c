import fp from 'fastify-plugin'
import { safeErrorMessage } from '../../lib/mask-secrets.js'
import { listEvents, type DeploymentEvent } from '../../store/events.js'
import { PgListener } from '../../store/pg-listener.js'
import { readStreamState, type StreamState } from '../../store/stream-state.js'

export const EVENTS_CHANNEL = 'deployment_events'
/** Every followed deployment is re-read this often, a safety net under LISTEN/NOTIFY. */
export const SAFETY_READ_MS = 15_000

/** One open stream, as the hub sees it. */
export interface EventSubscriber {
  /** The last event id this subscriber has sent. */
  lastId: () => number
  /** New events (after its lastId) and the deployment's state read after them. */
  deliver: (events: DeploymentEvent[], state: StreamState | undefined) => void
  /** The read failed or the server closes: end the stream (the client resumes elsewhere). */
  end: () => void
}

/** Wakes and feeds the streams following deployments. */
export interface EventHub {
  /** Follows a deployment; the first delivery (its backlog) comes at once. Returns the unsubscribe. */
  subscribe: (deploymentId: string, subscriber: EventSubscriber) => Promise<() => void>
  /** Reads and delivers a deployment's new events again (a subscriber that knows it is behind). */
  refresh: (deploymentId: string) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    eventHub: EventHub
  }
}

interface Followed { subscribers: Set<EventSubscriber>, reading: boolean, again: boolean }

/**
 * One PostgreSQL LISTEN connection per API process, opened on the first stream. A NOTIFY for a
 * deployment triggers one read of its new events (and its state) for all of its followers in
 * this process, so the control database sees two queries per event per process however many
 * clients follow it.
 */
export default fp(async function eventHubPlugin (app) {
  const { pool, logger } = app.services
  const listener = new PgListener(pool.options, [EVENTS_CHANNEL], logger)
  const followed = new Map<string, Followed>()

  async function read (deploymentId: string): Promise<void> {
    const entry = followed.get(deploymentId)
    if (entry === undefined) return
    if (entry.reading) { entry.again = true; return }
    entry.reading = true
    try {
      do {
        entry.again = false
        const subscribers = [...entry.subscribers]
        if (subscribers.length === 0) return
        const after = Math.min(...subscribers.map((s) => s.lastId()))
        const events = await listEvents(pool, deploymentId, after)
        const state = await readStreamState(pool, deploymentId)
        for (const subscriber of subscribers) {
          if (!entry.subscribers.has(subscriber)) continue
          const last = subscriber.lastId()
          subscriber.deliver(events.filter((event) => event.id > last), state)
        }
      } while (entry.again)
    } catch (error) {
      logger.warn({ deployment_id: deploymentId, err: { message: safeErrorMessage(error) } }, 'reading events for streams failed; closing them (clients resume with Last-Event-ID)')
      for (const subscriber of [...entry.subscribers]) subscriber.end()
    } finally {
      entry.reading = false
    }
  }

  listener.on(EVENTS_CHANNEL, (deploymentId) => { void read(deploymentId) })
  listener.onReconnect(() => { for (const id of followed.keys()) void read(id) })
  const safety = setInterval(() => { for (const id of followed.keys()) void read(id) }, SAFETY_READ_MS)
  safety.unref()

  app.decorate('eventHub', {
    subscribe: async (deploymentId: string, subscriber: EventSubscriber) => {
      await listener.ready()
      // Subscribed before the first read, so no event can commit unseen between the two.
      const entry = followed.get(deploymentId) ?? { subscribers: new Set(), reading: false, again: false }
      entry.subscribers.add(subscriber)
      followed.set(deploymentId, entry)
      void read(deploymentId)
      return () => {
        entry.subscribers.delete(subscriber)
        if (entry.subscribers.size === 0 && followed.get(deploymentId) === entry) followed.delete(deploymentId)
      }
    },
    refresh: (deploymentId: string) => { void read(deploymentId) }
  })
  // Open streams would keep server.close() waiting: end them first (clients resume with Last-Event-ID).
  app.addHook('preClose', async () => {
    for (const entry of followed.values()) for (const subscriber of [...entry.subscribers]) subscriber.end()
  })
  app.addHook('onClose', async () => {
    clearInterval(safety)
    await listener.close()
  })
}, { name: 'event-hub' })
