import { createHash, randomBytes } from 'node:crypto'
import path from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Worker } from 'bullmq'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { parseConfig, type Config } from '../../src/config/load.js'
import type { RuntimeSettings } from '../../src/config/runtime.js'
import type { RedisSettings } from '../../src/redis/settings.js'
import { createLogger } from '../../src/logger.js'
import { DEFAULT_RELIABILITY, type ReliabilitySettings } from '../../src/config/reliability.js'
import { createRuntime, type Runtime } from '../../src/process/runtime.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { buildServer } from '../../src/server.js'
import { createDeploymentWorker } from '../../src/worker.js'
import type { DeploymentJobData, JobPhase } from '../../src/queue/deployment-jobs.js'
import { createControlDatabase, createEmptyDatabase, databaseUrl, dropDatabase } from './databases.js'
import { until } from './until.js'

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const FIXTURES = path.join(PROJECT_ROOT, 'migrations-fixtures')

/** Test principals: each token's plaintext is `<name>-token`. */
export const TOKENS = {
  'ci-bot': ['deployer'],
  alice: ['approver'],
  bob: ['approver'],
  carol: ['deployer', 'approver'],
  viewer: ['viewer'],
  admin: ['admin']
} as const
export type TokenName = keyof typeof TOKENS
export const tokenOf = (name: TokenName): string => `${name}-token`

export interface HarnessOptions {
  /** Environment configs by name; each gets its own fresh target database. Defaults: dev, staging, production. */
  environments?: Record<string, Record<string, unknown>>
  workspaceRoot?: string
  limits?: Record<string, unknown>
  /** Start a BullMQ worker in the test process (default true). */
  worker?: boolean
  /** More top-level config (e.g. `notifications`). */
  extraConfig?: Record<string, unknown>
  /** More of `auth` beside the test tokens (e.g. `oidc`, `sso`). */
  auth?: Record<string, unknown>
  /** More variables for the pipeline's environment (e.g. webhook secrets). */
  env?: Record<string, string>
  /** A control database of the test's own (tests that stop its server); by default one is cloned from the template. */
  controlDatabaseUrl?: string
  /** Another Redis than REDIS_URL (tests that stop or flush their own redis-server). */
  redisUrl?: string
  /** Redis through Sentinel or a Cluster (the HA tests); takes precedence over `redisUrl`. */
  redis?: RedisSettings
  /** Reconciler, stalled-job and enqueue tuning for this service. */
  reliability?: Partial<ReliabilitySettings>
}

export interface Harness {
  app: FastifyInstance
  runtime: Runtime
  config: Config
  worker: Worker<DeploymentJobData, void, JobPhase> | undefined
  /** Target database name per environment. */
  targets: Record<string, string>
  /** Every log line the process wrote, as text. */
  logLines: string[]
  request: (method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH', url: string, options?: { as?: TokenName | null, body?: unknown, payload?: string, headers?: Record<string, string> }) => Promise<LightMyRequestResponse>
  /** Polls GET /deployments/:id until its status is one of `statuses`. */
  waitFor: (id: string, statuses: string[], timeoutMs?: number) => Promise<DeploymentResource>
  close: () => Promise<void>
}

export const DEFAULT_ENVIRONMENTS: Record<string, Record<string, unknown>> = {
  dev: { working_directory: 'app' },
  staging: { working_directory: 'app' },
  production: {
    working_directory: 'app',
    protected: true,
    approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
    health_check: { checks: ['connectivity'], timeout: '5s' }
  }
}

/**
 * Test targets are databases of the one test cluster, reached as its superuser (a fresh database
 * per environment and test file needs one), which a protected environment refuses (SPEC §15):
 * they accept it here unless the test sets `allow_superuser` itself, as
 * test/security/escape-the-database.test.ts does.
 */
export function withSuperuserTargets (environment: Record<string, unknown>): Record<string, unknown> {
  return environment.protected === true && environment.allow_superuser === undefined ? { ...environment, allow_superuser: true } : environment
}

/**
 * Preflight and rehearsal are on by default for protected environments (SPEC §12); a rehearsal
 * dumps, restores and drops a scratch database (seconds on a busy machine), which tests about
 * other things need not pay for each deployment. Tests of them (test/preflight, test/rehearsal)
 * set `rehearsal` themselves; the default itself is tested in test/config.
 */
export function withoutDefaultRehearsal (environment: Record<string, unknown>): Record<string, unknown> {
  return environment.protected === true && environment.rehearsal === undefined ? { ...environment, rehearsal: false } : environment
}

/**
 * A complete service for one test file: a control database cloned from the migrated template,
 * a fresh target database per environment, its own BullMQ queue, the API (for `inject`) and a worker.
 */
export async function startHarness (options: HarnessOptions = {}): Promise<Harness> {
  const suffix = randomBytes(4).toString('hex')
  const controlDb = options.controlDatabaseUrl === undefined ? await createControlDatabase() : undefined
  const environments = options.environments ?? DEFAULT_ENVIRONMENTS
  const targets: Record<string, string> = {}
  const env: NodeJS.ProcessEnv = { ...options.env }
  const configEnvironments: Record<string, Record<string, unknown>> = {}
  for (const [name, environment] of Object.entries(environments)) {
    targets[name] = await createEmptyDatabase(`md_${name.replace(/[^a-z0-9]/g, '_')}`)
    const variable = `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL_${suffix.toUpperCase()}`
    env[variable] = databaseUrl(targets[name])
    configEnvironments[name] = { database_url_env: variable, ...withoutDefaultRehearsal(withSuperuserTargets(environment)) }
  }
  const config = parseConfig({
    workspace_root: options.workspaceRoot ?? FIXTURES,
    environments: configEnvironments,
    auth: { tokens: Object.entries(TOKENS).map(([name, roles]) => ({ name, roles, sha256: createHash('sha256').update(`${name}-token`).digest('hex') })), ...options.auth },
    // Tests poll hard (waitFor); a test of the rate limit sets its own.
    limits: { rate_limit: { max: 1_000_000, window: '1m' }, ...options.limits },
    ...options.extraConfig
  }, PROJECT_ROOT, 'test-config')

  const logLines: string[] = []
  // The production logger (redaction and masking included), writing into logLines.
  const logger = createLogger('info', new Writable({ write (chunk, _encoding, done) { logLines.push(String(chunk)); done() } }))
  const settings: RuntimeSettings = {
    configPath: 'test-config',
    databaseUrl: options.controlDatabaseUrl ?? databaseUrl(controlDb as string),
    redisUrl: options.redis === undefined ? options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:56379' : '',
    ...(options.redis === undefined ? {} : { redis: options.redis }),
    host: '127.0.0.1',
    port: 0,
    logLevel: 'info',
    queueName: `test-${suffix}`,
    workerConcurrency: 2,
    reliability: { ...DEFAULT_RELIABILITY, ...options.reliability }
  }
  const runtime = await createRuntime(settings, { config, logger, env })
  const app = await buildServer(runtime)
  await app.ready()
  const worker =
    options.worker === false
      ? undefined
      : createDeploymentWorker(runtime.pipeline, {
        queueName: settings.queueName,
        redis: runtime.redisConnections.queue(settings.queueName),
        concurrency: 2,
        reliability: settings.reliability
      })

  const request: Harness['request'] = async (method, url, { as = 'ci-bot', body, payload, headers = {} } = {}) => {
    const allHeaders: Record<string, string> = { ...headers }
    if (as !== null) allHeaders.authorization = `Bearer ${tokenOf(as)}`
    if (body !== undefined || payload !== undefined) allHeaders['content-type'] ??= 'application/json'
    return await app.inject({
      method,
      url,
      headers: allHeaders,
      ...(payload !== undefined ? { payload } : body !== undefined ? { payload: JSON.stringify(body) } : {})
    })
  }

  const waitFor: Harness['waitFor'] = async (id, statuses, timeoutMs = 60_000) => {
    let last: DeploymentResource | undefined
    // The last answer that was not a deployment (an error), so a give-up names what the API said.
    let lastError: string | undefined
    try {
      return await until(async () => {
        const response = await request('GET', `/deployments/${id}`, { as: 'viewer' })
        if (response.statusCode !== 200) {
          lastError = `HTTP ${response.statusCode} ${response.body.slice(0, 500)}`
          return undefined
        }
        last = response.json<DeploymentResource>()
        return statuses.includes(last.status) ? last : undefined
      }, `deployment ${id} to be ${statuses.join('|')}`, timeoutMs, 25)
    } catch (error) {
      const said = lastError === undefined ? '' : `; the last error answer was ${lastError}`
      throw new Error(`${(error as Error).message}: it is ${last?.status ?? 'unknown'}, report ${JSON.stringify(last?.report ?? null)}${said}`)
    }
  }

  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await worker?.close()
    await app.close()
    await runtime.queue.obliterate({ force: true }).catch(() => {})
    await runtime.close()
    await Promise.all([...(controlDb === undefined ? [] : [controlDb]), ...Object.values(targets)].map(dropDatabase))
  }

  return { app, runtime, config, worker, targets, logLines, request, waitFor, close }
}
