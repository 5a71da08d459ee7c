import type { ConnectionOptions } from 'bullmq'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { registerSecret, registerUrlSecret } from '../lib/mask-secrets.js'
import { redisSecrets, type RedisSettings } from './settings.js'

/** A client for plain commands: one server's (standalone or Sentinel's primary) or a Cluster's. */
export type RedisClient = Redis | Cluster

/** What a BullMQ Queue or Worker takes to reach its keys: spread it into the constructor's options. */
export interface QueueConnection {
  connection: ConnectionOptions
  /** On a Cluster, `{<queue name>}`: a hash tag, so every key of the queue is in one slot (BullMQ's scripts touch several at once). */
  prefix?: string
}

/**
 * THE place every Redis connection of the process comes from (queues, workers, webhooks, the
 * rate limit, readiness, sessions …), so Sentinel, Cluster, passwords and reconnection behave
 * the same everywhere. Close it last: it disconnects what it handed out.
 */
export interface RedisConnections {
  readonly settings: RedisSettings
  /** Connection (and key prefix) for the BullMQ queue `queueName`, and for its workers. */
  queue: (queueName: string) => QueueConnection
  /**
   * A new client for plain commands. It reconnects (and follows a failover) on its own, but a
   * command fails after one retry instead of waiting for Redis to come back: callers degrade.
   */
  client: () => RedisClient
  close: () => void
}

// After a failover a connection may still reach the old primary, now a replica: reconnect (through
// Sentinel, or the DNS name a managed service moves) and resend the command.
const reconnectOnReadOnly = (error: Error): 2 | false => (error.message.startsWith('READONLY') ? 2 : false)
// Reconnect quickly at first (a failover takes seconds), then every 2 s.
const retryStrategy = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), 2000)

/** ioredis options for one server named by a redis:// or rediss:// URL. */
export function redisUrlOptions (redisUrl: string): RedisOptions {
  const url = new URL(redisUrl)
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`REDIS_URL must start with redis:// or rediss://, got ${url.protocol}//`)
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    host: url.hostname.replace(/^\[(.+)\]$/, '$1'),
    port: Number(url.port === '' ? 6379 : url.port),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(db === undefined || Number.isNaN(db) ? {} : { db }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {})
  }
}

/** The ioredis options of a connection to the primary (standalone or through Sentinel), without the per-use parts. */
export function primaryOptions (settings: Exclude<RedisSettings, { mode: 'cluster' }>): RedisOptions {
  if (settings.mode === 'standalone') return { ...redisUrlOptions(settings.url), retryStrategy, reconnectOnError: reconnectOnReadOnly }
  return {
    sentinels: settings.sentinels,
    name: settings.name,
    role: 'master',
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: settings.password }),
    ...(settings.sentinelUsername === undefined ? {} : { sentinelUsername: settings.sentinelUsername }),
    ...(settings.sentinelPassword === undefined ? {} : { sentinelPassword: settings.sentinelPassword }),
    ...(settings.db === undefined ? {} : { db: settings.db }),
    ...(settings.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    // Not ioredis's failoverDetector: its sentinel subscriptions outlive quit() (ioredis#1362), and
    // BullMQ closes with quit(), so a closed worker would keep the process alive. A promotion
    // closes every client's connection anyway (Redis does on a role change, a dead primary's socket
    // errors); TCP keepalive after 10 s of silence catches a primary that hangs instead.
    keepAlive: 10_000,
    retryStrategy,
    reconnectOnError: reconnectOnReadOnly
  }
}

/** The ioredis Cluster options, `maxRetriesPerRequest` as the use needs it. */
export function clusterOptions (settings: Extract<RedisSettings, { mode: 'cluster' }>, maxRetriesPerRequest: number | null): ClusterOptions {
  return {
    redisOptions: {
      ...(settings.username === undefined ? {} : { username: settings.username }),
      ...(settings.password === undefined ? {} : { password: settings.password }),
      ...(settings.tls ? { tls: {} } : {}),
      maxRetriesPerRequest,
      reconnectOnError: reconnectOnReadOnly
    },
    // Managed clusters with TLS announce names their certificates match: do not resolve them to addresses first.
    ...(settings.tls ? { dnsLookup: (address, callback) => { callback(null, address) } } : {}),
    clusterRetryStrategy: retryStrategy,
    // Seconds of failover: ask for the new slot map soon, often enough.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000
  }
}

/** The one factory: see `RedisConnections`. */
export function createRedisConnections (settings: RedisSettings): RedisConnections {
  if (settings.mode === 'standalone') registerUrlSecret(settings.url)
  for (const secret of redisSecrets(settings)) registerSecret(secret)
  const opened = new Set<RedisClient>()
  const track = <T extends RedisClient>(client: T): T => {
    opened.add(client)
    client.once('end', () => opened.delete(client))
    return client
  }
  return {
    settings,
    queue (queueName) {
      if (settings.mode === 'cluster') {
        // BullMQ cannot build a Cluster from options: it gets an instance (and duplicates it for a worker's blocking reads).
        const cluster = track(new Cluster(settings.nodes, clusterOptions(settings, null)))
        cluster.on('error', () => {})
        return { connection: cluster, prefix: `{${queueName}}` }
      }
      // BullMQ's blocking reads need maxRetriesPerRequest: null (commands wait for the reconnection).
      return { connection: { ...primaryOptions(settings), maxRetriesPerRequest: null } }
    },
    client () {
      const client = settings.mode === 'cluster'
        ? new Cluster(settings.nodes, clusterOptions(settings, 1))
        : new Redis({ ...primaryOptions(settings), maxRetriesPerRequest: 1 })
      // Errors surface on the commands; the connection itself keeps reconnecting.
      client.on('error', () => {})
      return track(client)
    },
    close: () => {
      const clients = [...opened]
      opened.clear()
      // Not QUIT: with Redis away it would wait for a reconnection that may never come.
      for (const client of clients) client.disconnect()
    }
  }
}
