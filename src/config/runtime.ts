import path from 'node:path'
import { readReliabilitySettings, type ReliabilitySettings } from './reliability.js'

/** Process settings from the environment (SPEC §2). Target URLs are read per environment, on use. */
export interface RuntimeSettings {
  configPath: string
  databaseUrl: string
  redisUrl: string
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
  const missing = ['DATABASE_URL', 'REDIS_URL'].filter((name) => env[name] === undefined || env[name] === '')
  if (missing.length > 0) {
    throw new Error(`${missing.join(' and ')} must be set (npm start sets local ones up for you: see README "Quick start")`)
  }
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`)
  const concurrency = Number(env.WORKER_CONCURRENCY ?? 4)
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`WORKER_CONCURRENCY must be a positive integer, got ${JSON.stringify(env.WORKER_CONCURRENCY)}`)
  return {
    configPath: path.resolve(env.DEPLOYER_CONFIG ?? 'migration-deployer.yaml'),
    databaseUrl: env.DATABASE_URL as string,
    redisUrl: env.REDIS_URL as string,
    host: env.HOST ?? '127.0.0.1',
    port,
    logLevel: env.LOG_LEVEL ?? 'info',
    queueName: env.DEPLOYER_QUEUE ?? 'deployments',
    workerConcurrency: concurrency,
    reliability: readReliabilitySettings(env)
  }
}

/** BullMQ connection options from a redis:// URL. */
export function redisConnectionOptions (redisUrl: string): {
  host: string
  port: number
  username?: string
  password?: string
  db?: number
  maxRetriesPerRequest: null
} {
  const url = new URL(redisUrl)
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    host: url.hostname,
    port: Number(url.port === '' ? 6379 : url.port),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(db === undefined || Number.isNaN(db) ? {} : { db }),
    // BullMQ workers need this so blocking commands are not cut short.
    maxRetriesPerRequest: null
  }
}
