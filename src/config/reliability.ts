import { parseDuration } from './duration.js'

/**
 * How the worker survives crashes, restarts and outages (issue 5). Every value comes from the
 * environment with a default that suits production; tests shorten them.
 */
export interface ReliabilitySettings {
  /** RECONCILE_INTERVAL: how often a worker re-enqueues deployments whose job went missing. */
  reconcileIntervalMs: number
  /**
   * WORKER_LOCK_DURATION: how long a job's BullMQ lock lives without renewal (renewed at half
   * that). A killed worker's job is handed to another after this plus the stalled interval.
   */
  lockDurationMs: number
  /** WORKER_STALLED_INTERVAL: how often each worker looks for jobs whose worker died. */
  stalledIntervalMs: number
  /** WORKER_MAX_STALLED: worker losses one deployment survives before it is failed clearly. */
  maxStalledCount: number
  /** SHUTDOWN_GRACE: the bound on a graceful shutdown; the migration in flight must end within it. */
  shutdownGraceMs: number
  /** ENQUEUE_TIMEOUT: how long POST waits for Redis before answering with a warning instead. */
  enqueueTimeoutMs: number
}

export const DEFAULT_RELIABILITY: ReliabilitySettings = {
  reconcileIntervalMs: 30_000,
  lockDurationMs: 30_000,
  stalledIntervalMs: 15_000,
  maxStalledCount: 3,
  shutdownGraceMs: 60_000,
  enqueueTimeoutMs: 2_000
}

function durationFrom (env: NodeJS.ProcessEnv, name: string, fallback: number, minimum: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const ms = parseDuration(text)
  if (ms === undefined || ms < minimum) throw new Error(`${name} must be a duration of at least ${minimum} ms like "30s" or "500ms", got ${JSON.stringify(text)}`)
  return ms
}

export function readReliabilitySettings (env: NodeJS.ProcessEnv = process.env): ReliabilitySettings {
  const maxStalled = Number(env.WORKER_MAX_STALLED ?? DEFAULT_RELIABILITY.maxStalledCount)
  if (!Number.isInteger(maxStalled) || maxStalled < 1) throw new Error(`WORKER_MAX_STALLED must be a positive integer, got ${JSON.stringify(env.WORKER_MAX_STALLED)}`)
  const settings: ReliabilitySettings = {
    reconcileIntervalMs: durationFrom(env, 'RECONCILE_INTERVAL', DEFAULT_RELIABILITY.reconcileIntervalMs, 100),
    lockDurationMs: durationFrom(env, 'WORKER_LOCK_DURATION', DEFAULT_RELIABILITY.lockDurationMs, 1000),
    stalledIntervalMs: durationFrom(env, 'WORKER_STALLED_INTERVAL', DEFAULT_RELIABILITY.stalledIntervalMs, 100),
    maxStalledCount: maxStalled,
    shutdownGraceMs: durationFrom(env, 'SHUTDOWN_GRACE', DEFAULT_RELIABILITY.shutdownGraceMs, 1000),
    enqueueTimeoutMs: durationFrom(env, 'ENQUEUE_TIMEOUT', DEFAULT_RELIABILITY.enqueueTimeoutMs, 100)
  }
  return settings
}
