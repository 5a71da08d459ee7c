import closeWithGrace from 'close-with-grace'
import { DEFAULT_RELIABILITY } from '../config/reliability.js'
import { readRuntimeSettings, redisConnectionOptions, type RuntimeSettings } from '../config/runtime.js'
import { createRuntime, type Runtime } from '../process/runtime.js'
import { buildServer } from '../server.js'
import { createDeploymentWorker, startReconciler } from '../worker.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { startMetricsServer } from '../metrics/metrics-server.js'
import { createScrapeRegistry } from '../metrics/scrape.js'
import { startNotifications } from '../notifications/index.js'
import { StartupError } from '../process/startup-error.js'
import { unsetDatabaseUrlWarnings } from '../process/unset-database-urls.js'

export type ProcessRole = 'serve' | 'worker' | 'start'

/**
 * Runs the API, the worker, or both in one process (SPEC §2). SIGTERM stops taking new work,
 * lets the migration in flight finish and record (the apply then stops and its job goes back
 * to the queue for another worker), closes queues and pools, and exits 0 — or 1 if that takes
 * longer than SHUTDOWN_GRACE, in which case PostgreSQL rolls the migration in flight back.
 */
export async function runProcesses (role: ProcessRole): Promise<void> {
  const settings = readRuntimeSettings()
  const runtime = await createRuntime(settings)
  const stopping = new AbortController()
  runtime.pipeline.shutdown = stopping.signal
  // A start that fails past this point closes the pools, queues and connections it opened:
  // left open, they keep the process alive and it never exits with the error.
  const opened: Array<() => Promise<unknown>> = [runtime.close]
  try {
    await startRole(role, settings, runtime, stopping, opened)
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => {})
    throw error
  }
}

/** Starts the role's server, worker and helpers; each thing it opens goes into `opened` first. */
async function startRole (
  role: ProcessRole, settings: RuntimeSettings, runtime: Runtime, stopping: AbortController, opened: Array<() => Promise<unknown>>
): Promise<void> {
  const { logger } = runtime
  for (const warning of unsetDatabaseUrlWarnings(runtime.config, process.env)) {
    logger.warn({ environment: warning.environment, variable: warning.variable }, warning.message)
  }
  const reliability = settings.reliability ?? DEFAULT_RELIABILITY
  const server = role === 'worker' ? undefined : await buildServer(runtime)
  if (server !== undefined) opened.push(async () => { await server.close() })
  // Listen before taking any job: a process that cannot serve what it was started for (the port
  // is taken, by a second `npm start` say) must end at once, not live on as a hidden worker.
  if (server !== undefined) {
    try {
      await server.listen({ host: settings.host, port: settings.port })
    } catch (error) {
      throw new StartupError(listenFailure('the API', settings.host, settings.port, error, 'PORT'))
    }
  }
  const worker =
    role === 'serve'
      ? undefined
      : createDeploymentWorker(runtime.pipeline, {
        queueName: settings.queueName,
        connection: redisConnectionOptions(settings.redisUrl),
        concurrency: settings.workerConcurrency,
        reliability
      })
  if (worker !== undefined) opened.push(async () => { await worker.close() })
  // Every worker reconciles (one pass at a time across all of them): at start, then periodically.
  const reconciler = worker === undefined ? undefined : startReconciler(runtime.pipeline, reliability.reconcileIntervalMs)
  if (reconciler !== undefined) opened.push(async () => { await reconciler.stop() })

  // Worker processes dispatch the notification outbox (webhooks, finished-deployment metrics).
  const notifications =
    worker === undefined
      ? undefined
      : await startNotifications({
        pool: runtime.pool,
        config: runtime.config,
        logger,
        env: runtime.pipeline.env,
        queueName: settings.queueName,
        connection: redisConnectionOptions(settings.redisUrl)
      })
  if (notifications !== undefined) opened.push(async () => { await notifications.close() })
  // A worker-only process has no API: it serves its own /metrics when METRICS_PORT is set.
  const metricsPort = role === 'worker' ? metricsPortFrom(process.env) : undefined
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined
  if (metricsPort !== undefined && notifications !== undefined) {
    try {
      metricsServer = await startMetricsServer({
        registry: createScrapeRegistry({
          pool: runtime.pool,
          queues: { deployments: runtime.queue, webhooks: notifications.queue },
          environments: Object.keys(runtime.config.environments)
        }),
        tokens: runtime.config.tokens,
        host: settings.host,
        port: metricsPort,
        logger
      })
    } catch (error) {
      throw new StartupError(listenFailure('/metrics', settings.host, metricsPort, error, 'METRICS_PORT'))
    }
  }

  closeWithGrace({ delay: reliability.shutdownGraceMs, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err: { message: safeErrorMessage(err) } }, 'shutting down after an error')
    else logger.info({ signal, grace_ms: reliability.shutdownGraceMs }, 'shutting down')
    stopping.abort()
    await reconciler?.stop()
    await Promise.all([server?.close(), worker?.close()])
    await notifications?.close()
    await metricsServer?.close()
    await runtime.close()
    logger.info({ role }, 'shut down cleanly')
  })

  logger.info({ role, config: runtime.config.source, environments: Object.keys(runtime.config.environments), ...(metricsServer === undefined ? {} : { metrics_port: metricsServer.port }), ...(server === undefined ? {} : { address: server.addresses()[0] }) }, 'migration-deployer ready')
}

/** One line saying why a port could not be listened on, and what to do about it. */
function listenFailure (what: string, host: string, port: number, error: unknown, variable: string): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') {
    return `${what} cannot listen on ${host}:${port}: the address is already in use (another migration-deployer running?). ` +
      `Stop it, or set ${variable} to a free port.`
  }
  if (code === 'EACCES') return `${what} cannot listen on ${host}:${port}: permission denied. Set ${variable} to a port above 1023.`
  if (code === 'EADDRNOTAVAIL') return `${what} cannot listen on ${host}:${port}: no such address here. Set HOST to one of its addresses (or 0.0.0.0).`
  return `${what} cannot listen on ${host}:${port}: ${safeErrorMessage(error)}`
}

function metricsPortFrom (env: NodeJS.ProcessEnv): number | undefined {
  if (env.METRICS_PORT === undefined || env.METRICS_PORT === '') return undefined
  const port = Number(env.METRICS_PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`METRICS_PORT must be a port number, got ${JSON.stringify(env.METRICS_PORT)}`)
  return port
}
