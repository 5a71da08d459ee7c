import closeWithGrace from 'close-with-grace'
import { readRuntimeSettings, redisConnectionOptions } from '../config/runtime.js'
import { createRuntime } from '../process/runtime.js'
import { buildServer } from '../server.js'
import { createDeploymentWorker, reconcileQueue } from '../worker.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'

export type ProcessRole = 'serve' | 'worker' | 'start'

/**
 * Runs the API, the worker, or both in one process (SPEC §2). SIGTERM stops taking new work,
 * lets the job in flight finish, closes queues and pools, and exits.
 */
export async function runProcesses (role: ProcessRole): Promise<void> {
  const settings = readRuntimeSettings()
  const runtime = await createRuntime(settings)
  const { logger } = runtime
  const server = role === 'worker' ? undefined : await buildServer(runtime)
  const worker = role === 'serve'
    ? undefined
    : createDeploymentWorker(runtime.pipeline, { queueName: settings.queueName, connection: redisConnectionOptions(settings.redisUrl), concurrency: settings.workerConcurrency })

  closeWithGrace({ delay: 30_000, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err: { message: safeErrorMessage(err) } }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down')
    await server?.close()
    await worker?.close()
    await runtime.close()
  })

  if (worker !== undefined) {
    const requeued = await reconcileQueue(runtime.pipeline)
    if (requeued > 0) logger.info({ requeued }, 're-enqueued unfinished deployments')
  }
  if (server !== undefined) {
    await server.listen({ host: settings.host, port: settings.port })
  }
  logger.info({ role, config: runtime.config.source, environments: Object.keys(runtime.config.environments) }, 'migration-deployer ready')
}
