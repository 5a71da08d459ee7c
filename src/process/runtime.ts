import { Redis } from 'ioredis'
import type pg from 'pg'
import type { Logger } from 'pino'
import { loadConfigFile, type Config } from '../config/load.js'
import { redisConnectionOptions, type RuntimeSettings } from '../config/runtime.js'
import { registerUrlSecret } from '../lib/mask-secrets.js'
import { createLogger } from '../logger.js'
import { createDeploymentQueue, type DeploymentQueue } from '../queue/deployment-jobs.js'
import { migrateControlDatabase } from './migrate-control-database.js'
import { createControlPool } from '../store/pool.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'

/** The shared parts of an API or worker process, built once at start. */
export interface Runtime {
  settings: RuntimeSettings
  config: Config
  logger: Logger
  pool: pg.Pool
  queue: DeploymentQueue
  redis: Redis
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
  registerUrlSecret(settings.redisUrl)
  const config = options.config ?? loadConfigFile(settings.configPath)
  await migrateControlDatabase(settings.databaseUrl)
  const pool = createControlPool(settings.databaseUrl, { onError: (message) => logger.warn({ err: { message } }, 'control database connection error') })
  const connection = redisConnectionOptions(settings.redisUrl)
  const queue = createDeploymentQueue(settings.queueName, connection)
  queue.on('error', (error) => logger.warn({ err: { message: error.message } }, 'queue connection error'))
  const redis = new Redis({ ...connection, maxRetriesPerRequest: 1, lazyConnect: false })
  redis.on('error', () => {})
  const pipeline: PipelineContext = { config, pool, queue, logger, env: options.env ?? process.env }
  return {
    settings,
    config,
    logger,
    pool,
    queue,
    redis,
    pipeline,
    close: async () => {
      await queue.close().catch(() => {})
      redis.disconnect()
      await pool.end().catch(() => {})
    }
  }
}
