import path from 'node:path'
import { readReliabilitySettings, type ReliabilitySettings } from './reliability.js'
import { redisUrlOptions } from '../redis/connections.js'
import { readRedisSettings, type RedisSettings } from '../redis/settings.js'

/** Process settings from the environment (SPEC §2). Target URLs are read per environment, on use. */
export interface RuntimeSettings {
  configPath: string
  databaseUrl: string
  /** REDIS_URL ('' when Redis is reached through Sentinel or a Cluster instead). */
  redisUrl: string
  /** Where Redis is; absent means the one server of `redisUrl` (tests build settings by hand). */
  redis?: RedisSettings
  host: string
  port: number
  logLevel: string
  /** BullMQ queue name; tests give each run its own. */
  queueName: string
  workerConcurrency: number
  /** Reconciler, stalled-job and shutdown tuning (defaults when absent). */
  reliability?: ReliabilitySettings
}

export function readRuntimeSettings (env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const redis = readRedisSettings(env)
  const missing = [...(env.DATABASE_URL === undefined || env.DATABASE_URL === '' ? ['DATABASE_URL'] : []), ...(redis === undefined ? ['REDIS_URL'] : [])]
  if (missing.length > 0) {
    throw new Error(`${missing.join(' and ')} must be set (npm start sets local ones up for you: see README "Quick start"; ` +
      'for a replicated Redis set REDIS_SENTINELS and REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES, instead of REDIS_URL)')
  }
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`)
  const concurrency = Number(env.WORKER_CONCURRENCY ?? 4)
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`WORKER_CONCURRENCY must be a positive integer, got ${JSON.stringify(env.WORKER_CONCURRENCY)}`)
  return {
    configPath: path.resolve(env.DEPLOYER_CONFIG ?? 'migration-deployer.yaml'),
    databaseUrl: env.DATABASE_URL as string,
    redisUrl: redis?.mode === 'standalone' ? redis.url : '',
    redis,
    host: env.HOST ?? '127.0.0.1',
    port,
    logLevel: env.LOG_LEVEL ?? 'info',
    queueName: env.DEPLOYER_QUEUE ?? 'deployments',
    workerConcurrency: concurrency,
    reliability: readReliabilitySettings(env)
  }
}

/**
 * BullMQ connection options for the one Redis server of a redis:// URL. Processes get theirs
 * from `createRedisConnections` (src/redis/connections.ts), which also knows Sentinel and Cluster.
 */
export function redisConnectionOptions (redisUrl: string): ReturnType<typeof redisUrlOptions> & { maxRetriesPerRequest: null } {
  // BullMQ workers need this so blocking commands are not cut short.
  return { ...redisUrlOptions(redisUrl), maxRetriesPerRequest: null }
}
