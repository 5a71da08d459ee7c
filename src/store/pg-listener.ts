import pg from 'pg'
import type { Logger } from 'pino'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { connectControlClient } from './control-client.js'

type Handler = (payload: string) => void

/**
 * One dedicated LISTEN connection for a process, fanned out to in-process subscribers. It
 * reconnects with backoff when the connection drops, and then tells every `onReconnect`
 * subscriber, because notifications sent while it was away are lost and must be caught up by
 * reading the table.
 */
export class PgListener {
  private client: pg.Client | undefined
  private connecting: Promise<void> | undefined
  private readonly handlers = new Map<string, Set<Handler>>()
  private readonly reconnectHandlers = new Set<() => void>()
  private closed = false
  private retryMs = 500
  private retryTimer: NodeJS.Timeout | undefined

  constructor (private readonly connection: pg.ClientConfig, private readonly channels: string[], private readonly logger: Logger) {}

  /** Resolves once LISTEN is active on every channel (connecting on first use). */
  async ready (): Promise<void> {
    if (this.closed) throw new Error('listener is closed')
    if (this.client !== undefined) return
    this.connecting ??= this.connect().finally(() => { this.connecting = undefined })
    await this.connecting
  }

  on (channel: string, handler: Handler): () => void {
    const set = this.handlers.get(channel) ?? new Set<Handler>()
    set.add(handler)
    this.handlers.set(channel, set)
    return () => set.delete(handler)
  }

  onReconnect (handler: () => void): () => void {
    this.reconnectHandlers.add(handler)
    return () => this.reconnectHandlers.delete(handler)
  }

  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }

  private async connect (): Promise<void> {
    // The control database's host selection too, when DATABASE_URL lists several hosts.
    const client = await connectControlClient({ ...this.connection, application_name: 'migration-deployer listener' })
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '')
    })
    client.on('error', (error) => this.lost(client, error))
    client.on('end', () => this.lost(client, new Error('connection ended')))
    try {
      for (const channel of this.channels) await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`)
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    if (this.closed) { await client.end().catch(() => {}); return }
    this.client = client
    this.retryMs = 500
  }

  private lost (client: pg.Client, error: Error): void {
    if (this.client !== client) return
    this.client = undefined
    void client.end().catch(() => {})
    if (this.closed) return
    this.logger.warn({ err: { message: safeErrorMessage(error) } }, 'LISTEN connection lost; reconnecting')
    this.scheduleReconnect()
  }

  private scheduleReconnect (): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => {
      this.ready().then(() => {
        for (const handler of this.reconnectHandlers) handler()
      }, (error: unknown) => {
        this.logger.warn({ err: { message: safeErrorMessage(error) } }, 'LISTEN reconnect failed; retrying')
        this.retryMs = Math.min(this.retryMs * 2, 30_000)
        this.scheduleReconnect()
      })
    }, this.retryMs)
    this.retryTimer.unref()
  }
}
