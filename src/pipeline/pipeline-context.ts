import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import type { DeploymentQueue } from '../queue/deployment-jobs.js'
import type { ControlSessions } from '../store/control-sessions.js'
import type { KeptTargetSessions } from './steps/kept-target-sessions.js'

/** What the pipeline needs from its process: config, control database, queue, logger, environment. */
export interface PipelineContext {
  config: Config
  pool: pg.Pool
  queue: DeploymentQueue
  logger: Logger
  /** Where target URLs are read from (the variables each environment names). */
  env: NodeJS.ProcessEnv
  /** The job gate's lock sessions, kept between jobs. */
  sessions: ControlSessions
  /** The health check's target connections, kept between checks. */
  targetSessions: KeptTargetSessions
  /** Fires when the worker begins a graceful shutdown: applies stop before their next migration. */
  shutdown?: AbortSignal
  /** The time, in ms since the epoch, for decisions by the calendar (deployment windows); tests set a fake one. Default Date.now. */
  clock?: () => number
}
