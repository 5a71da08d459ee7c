import type pg from 'pg'
import type { Logger } from 'pino'
import { loadConfigFile, type Config } from '../config/load.js'
import type { RuntimeSettings } from '../config/runtime.js'
import { registerUrlSecret, safeErrorMessage } from '../lib/mask-secrets.js'
import { createLogger } from '../logger.js'
import { createDeploymentQueue, type DeploymentQueue } from '../queue/deployment-jobs.js'
import { createRedisConnections, type RedisClient, type RedisConnections } from '../redis/connections.js'
import { migrateControlDatabase } from './migrate-control-database.js'
import { createControlPool, currentControlUrl } from '../store/pool.js'
import { ControlSessions } from '../store/control-sessions.js'
import { KeptTargetSessions } from '../pipeline/steps/kept-target-sessions.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'

/** The shared parts of an API or worker process, built once at start. */
export interface Runtime {
  settings: RuntimeSettings
  config: Config
  logger: Logger
  pool: pg.Pool
  queue: DeploymentQueue
  /** A client for plain Redis commands (readiness, rate limit). */
  redis: RedisClient
  /** Every other Redis connection of the process comes from here (src/redis/connections.ts). */
  redisConnections: RedisConnections
  pipeline: PipelineContext
  close: () => Promise<void>
}

/** Loads config (failing fast), connects, and migrates the control database. */
export interface RuntimeOptions {
  logger?: Logger
  /** A config already loaded (tests); otherwise read from `settings.configPath`. */
  config?: Config
  env?: NodeJS.ProcessEnv
}

export async function createRuntime (settings: RuntimeSettings, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(settings.logLevel)
  registerUrlSecret(settings.databaseUrl)
  const config = options.config ?? loadConfigFile(settings.configPath)
  const pool = createControlPool(settings.databaseUrl, { onError: (message) => logger.warn({ err: { message } }, 'control database connection error') })
  try {
    // On the writable host, when DATABASE_URL lists several.
    await migrateControlDatabase(await currentControlUrl(pool, settings.databaseUrl))
  } catch (error) {
    await pool.end().catch(() => {})
    throw error
  }
  const redisConnections = createRedisConnections(settings.redis ?? { mode: 'standalone', url: settings.redisUrl })
  const queue = createDeploymentQueue(settings.queueName, redisConnections.queue(settings.queueName))
  queue.on('error', (error) => logger.warn({ err: { message: safeErrorMessage(error) } }, 'queue connection error'))
  const redis = redisConnections.client()
  const sessions = new ControlSessions(pool, settings.workerConcurrency)
  const targetSessions = new KeptTargetSessions(settings.workerConcurrency)
  const pipeline: PipelineContext = { config, pool, queue, logger, env: options.env ?? process.env, sessions, targetSessions }
  return {
    settings,
    config,
    logger,
    pool,
    queue,
    redis,
    redisConnections,
    pipeline,
    close: async () => {
      await queue.close().catch(() => {})
      redisConnections.close()
      await sessions.close()
      await targetSessions.close()
      await pool.end().catch(() => {})
    }
  }
}
