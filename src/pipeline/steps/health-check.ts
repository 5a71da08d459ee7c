import type pg from 'pg'
import type { EnvironmentConfig } from '../../config/load.js'
import { connectTarget } from '../../lib/target-connection.js'
import type { MigrationHandler, MigrationIdentity, MigrationStatus } from '../../handlers/types.js'
import { maskSecrets, safeErrorMessage } from '../../lib/mask-secrets.js'
import type { KeptTargetSessions } from './kept-target-sessions.js'
import { inspectTargetRole } from './target-role.js'

export interface HealthCheckDetail {
  check: string
  passed: boolean
  message: string
}

export interface HealthCheckResult {
  passed: boolean
  details: HealthCheckDetail[]
  /** The migration status read for the `schema`/`migrations` checks, when they ran. */
  status?: MigrationStatus<MigrationIdentity>
}

export interface HealthCheckInput {
  databaseUrl: string
  environment: EnvironmentConfig
  handler: MigrationHandler
  /** The migrations being deployed, for the drift check. */
  source: MigrationIdentity[]
  /** Drift that is allowed (dev mode with reset_on_drift): reported, not failed. */
  allowDrift?: boolean
  /** Look at the target role's powers (`target_role`; the pre-deployment check, SPEC §15). */
  inspectRole?: boolean
  /** Connections kept between checks: the check keeps its own when it can, and runs on a kept one when it answers and `reuse` allows. */
  sessions?: KeptTargetSessions
  /** Run on a kept connection (default true). A check after migrations opens a new one: they may change what a new session sees (role settings). */
  reuse?: boolean
}

async function withTimeout<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Bounds the check's statements by its timeout and proves the session answers: one round trip. */
async function startCheck (client: pg.Client, timeoutMs: number): Promise<void> {
  await client.query(`SET statement_timeout = ${Math.max(1, Math.trunc(timeoutMs))}; SELECT 1`)
}

/** The connection kept from an earlier check of the same target, when it still answers within the timeout. */
async function keptConnection (input: HealthCheckInput, timeoutMs: number): Promise<{ client: pg.Client, idleMs: number } | undefined> {
  const kept = input.reuse === false ? undefined : input.sessions?.take(input.databaseUrl)
  if (kept === undefined) return undefined
  try {
    await withTimeout(timeoutMs, 'the database', startCheck(kept.client, timeoutMs))
    return kept
  } catch {
    // Gone while kept (a server restart, idle_session_timeout): a new connection, as if none was kept.
    await kept.client.end().catch(() => {})
    return undefined
  }
}

/**
 * `connectivity` and the custom `sql` checks, on one connection bounded by the configured timeout;
 * the connection is handed back, open, for the history checks (undefined when it failed).
 */
async function runConnectionChecks (input: HealthCheckInput, details: HealthCheckDetail[]): Promise<pg.Client | undefined> {
  const { environment } = input
  const timeoutMs = environment.health_check.timeout
  const started = performance.now()
  const kept = await keptConnection(input, timeoutMs)
  let client = kept?.client
  if (client === undefined) {
    try {
      client = await withTimeout(timeoutMs, 'the database', connectTarget(input.databaseUrl, { applicationName: 'migration-deployer health', connectTimeoutMs: timeoutMs }))
      await startCheck(client, timeoutMs)
    } catch (error) {
      await client?.end().catch(() => {})
      details.push({ check: 'connectivity', passed: false, message: safeErrorMessage(error) })
      return undefined
    }
  }
  try {
    if (environment.health_check.checks.includes('connectivity')) {
      const elapsed = Math.round(performance.now() - started)
      details.push({
        check: 'connectivity',
        passed: true,
        message: kept === undefined
          ? `connected and ran SELECT 1 in ${elapsed} ms`
          : `ran SELECT 1 in ${elapsed} ms on the connection of the check ${(kept.idleMs / 1000).toFixed(1)} s before`
      })
    }
    for (const check of environment.health_check.sql) {
      try {
        const { rows } = await client.query<Record<string, unknown>>({ text: check.query, rowMode: 'array' } as never)
        const first = (rows[0] as unknown as unknown[] | undefined)?.[0]
        const failed = first === false || first === 0 || first === '0' || first === 'f'
        details.push({ check: `sql:${check.name}`, passed: !failed, message: failed ? `returned ${JSON.stringify(first)}` : 'passed' })
      } catch (error) {
        details.push({ check: `sql:${check.name}`, passed: false, message: maskSecrets((error as Error).message) })
      }
    }
    if (input.inspectRole === true) details.push(...await inspectTargetRole(client, environment))
  } catch (error) {
    await client.end().catch(() => {})
    throw error
  }
  return client
}

/** `schema` (history readable, nothing unfinished) and `migrations` (no drift) from the handler's status. */
async function runHistoryChecks (
  input: HealthCheckInput, details: HealthCheckDetail[], client: pg.Client
): Promise<MigrationStatus<MigrationIdentity> | undefined> {
  const checks = input.environment.health_check.checks
  if (!checks.includes('schema') && !checks.includes('migrations')) return undefined
  let status: MigrationStatus<MigrationIdentity>
  try {
    // On the health check's connection when the handler can (its statement_timeout bounds the read too).
    const reading = input.handler.statusOn === undefined ? input.handler.status(input.databaseUrl, input.source) : input.handler.statusOn(client, input.source)
    status = await withTimeout(input.environment.health_check.timeout, 'reading the history table', reading)
  } catch (error) {
    details.push({ check: 'schema', passed: false, message: `history table not readable: ${safeErrorMessage(error)}` })
    return undefined
  }
  if (checks.includes('schema')) {
    const failed = status.failed.map((f) => `${f.name} (${f.startedAt === null ? 'started' : `started ${f.startedAt.toISOString()}`}, never finished)`)
    details.push(failed.length === 0
      ? { check: 'schema', passed: true, message: status.historyTableExists ? `history table readable, ${status.applied.length} applied` : 'no history table yet (a new database)' }
      : { check: 'schema', passed: false, message: `unfinished or failed migrations: ${failed.join(', ')}` })
  }
  if (checks.includes('migrations')) {
    const drift = status.drifted.map((d) => `${d.name} (${d.reason === 'checksum_changed' ? 'file changed since it was applied' : 'applied but missing from the source'})`)
    details.push(drift.length === 0
      ? { check: 'migrations', passed: true, message: 'no drift' }
      : { check: 'migrations', passed: input.allowDrift === true, message: `drift: ${drift.join(', ')}` })
  }
  return status
}

/**
 * The health check run before and after a deployment: `connectivity` (connect and SELECT 1
 * within the timeout), `schema`, `migrations` (drift) and the config's custom `sql` checks.
 * A custom check passes when its query runs and its first value is not false or 0.
 */
export async function runHealthChecks (input: HealthCheckInput): Promise<HealthCheckResult> {
  const details: HealthCheckDetail[] = []
  const client = await runConnectionChecks(input, details)
  if (client === undefined) return { passed: false, details }
  let status
  let reusable = false
  try {
    status = await runHistoryChecks(input, details, client)
    // Kept only as a new connection would be: no custom SQL ran on it (it may change the session),
    // and nothing failed (a read past its timeout may still be running on it).
    reusable = input.environment.health_check.sql.length === 0 && details.every((d) => d.passed)
  } finally {
    if (reusable && input.sessions !== undefined) input.sessions.keep(input.databaseUrl, client)
    else await client.end().catch(() => {})
  }
  return { passed: details.every((d) => d.passed), details, ...(status === undefined ? {} : { status }) }
}
