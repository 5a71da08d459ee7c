import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import type { DeploymentQueue } from '../queue/deployment-jobs.js'
import type { RedisClient, RedisConnections } from '../redis/connections.js'

/** What the API needs from its process, built once in `server.ts` (or a test) and decorated onto Fastify. */
export interface ApiServices {
  config: Config
  pool: pg.Pool
  queue: DeploymentQueue
  /** A Redis connection for commands: readiness checks, the rate limit. */
  redis: RedisClient
  /** Where every other Redis connection comes from (src/redis/connections.ts): queues, sessions … */
  redisConnections: RedisConnections
  logger: Logger
  /** Where target URLs are read from; defaults to process.env (tests pass their own). */
  env?: NodeJS.ProcessEnv
  /** How long POST /deployments waits for Redis before answering with a warning (ENQUEUE_TIMEOUT). */
  enqueueTimeoutMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    services: ApiServices
  }
}
