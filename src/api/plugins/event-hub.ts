import fp from 'fastify-plugin'
import { PgListener } from '../../store/pg-listener.js'

export const EVENTS_CHANNEL = 'deployment_events'

/** Wakes the streams following one deployment when its events change. */
export interface EventHub {
  /**
   * Calls `wake` whenever an event of `deploymentId` commits (or the listener had to reconnect),
   * and `shutdown` when the server closes, so open streams end and clients resume elsewhere.
   */
  subscribe: (deploymentId: string, wake: () => void, shutdown: () => void) => Promise<() => void>
}

declare module 'fastify' {
  interface FastifyInstance {
    eventHub: EventHub
  }
}

/**
 * One PostgreSQL LISTEN connection per API process, fanned out to every open event stream.
 * Opened on the first stream, so a process nobody follows holds no extra connection.
 */
export default fp(async function eventHubPlugin (app) {
  const listener = new PgListener(app.services.pool.options, [EVENTS_CHANNEL], app.services.logger)
  const subscribers = new Map<string, Set<() => void>>()
  const shutdowns = new Set<() => void>()
  listener.on(EVENTS_CHANNEL, (deploymentId) => {
    for (const wake of subscribers.get(deploymentId) ?? []) wake()
  })
  listener.onReconnect(() => {
    for (const set of subscribers.values()) for (const wake of set) wake()
  })

  app.decorate('eventHub', {
    subscribe: async (deploymentId: string, wake: () => void, shutdown: () => void) => {
      const set = subscribers.get(deploymentId) ?? new Set()
      set.add(wake)
      subscribers.set(deploymentId, set)
      shutdowns.add(shutdown)
      const unsubscribe = (): void => {
        shutdowns.delete(shutdown)
        set.delete(wake)
        if (set.size === 0 && subscribers.get(deploymentId) === set) subscribers.delete(deploymentId)
      }
      try {
        await listener.ready()
      } catch (error) {
        unsubscribe()
        throw error
      }
      return unsubscribe
    }
  })
  // Open streams would keep server.close() waiting: end them first (clients resume with Last-Event-ID).
  app.addHook('preClose', async () => { for (const shutdown of [...shutdowns]) shutdown() })
  app.addHook('onClose', async () => { await listener.close() })
}, { name: 'event-hub' })
