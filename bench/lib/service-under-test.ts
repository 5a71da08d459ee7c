import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import type pg from 'pg'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import { migrateControlDatabase } from '../../src/process/migrate-control-database.js'
import { connect, createDatabase, databaseUrl, dropDatabase } from './databases.js'
import { freePort, startApi, startWorker, type BenchProcess } from './processes.js'

/** A role's bearer token for the service under test. */
export type Role = 'deployer' | 'approver' | 'viewer'

/**
 * A service of a bench part's own: its control database, queue, config file and workspace, with
 * its API and worker processes (the built CLI, as shipped). Parts that need environments the main
 * bench does not configure (fleets, a rehearsed environment) run on one, so the main service's
 * config stays as it is and each part's control-database writes are its own to count.
 */
export interface ServiceUnderTest {
  apiUrl: string
  /** A client on the control database, for the bench's own reads. */
  control: pg.Client
  controlDb: string
  /** The workspace root of the config (copy sources into it before posting). */
  workspace: string
  tokens: Record<Role, string>
  /** Stops the API and the worker (their connections end, so their statistics are flushed). */
  stopProcesses: () => Promise<void>
  /** Starts them again after stopProcesses, with the same config. */
  startProcesses: () => Promise<void>
  /** Stops everything and drops the control database, the queue and the workspace. */
  close: () => Promise<void>
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** Starts a service whose config has `environments`, with `env` added to its processes' environment. */
export async function startService (name: string, environments: Record<string, unknown>, env: Record<string, string>): Promise<ServiceUnderTest> {
  const suffix = randomBytes(4).toString('hex')
  const tmp = await mkdtemp(path.join(tmpdir(), `md-bench-${name}-`))
  const workspace = path.join(tmp, 'workspace')
  await mkdir(workspace)
  const controlDb = `mdb_${name}_control_${suffix}`
  await createDatabase(controlDb)
  const tokens: Record<Role, string> = {
    deployer: `bench-ci-${randomBytes(16).toString('hex')}`,
    approver: `bench-approver-${randomBytes(16).toString('hex')}`,
    viewer: `bench-viewer-${randomBytes(16).toString('hex')}`
  }
  const config = {
    workspace_root: workspace,
    environments,
    auth: { tokens: (Object.keys(tokens) as Role[]).map((role) => ({ name: `bench-${role}`, sha256: sha256(tokens[role]), roles: [role] })) },
    limits: { rate_limit: { max: 100_000_000, window: '1m' }, queued_per_token: 100_000_000 }
  }
  const configPath = path.join(tmp, 'migration-deployer.yaml')
  await writeFile(configPath, JSON.stringify(config, null, 2))
  const queueName = `bench-${name}-${suffix}`
  const serviceEnv: NodeJS.ProcessEnv = {
    ...env,
    DATABASE_URL: databaseUrl(controlDb),
    REDIS_URL: process.env.REDIS_URL,
    DEPLOYER_CONFIG: configPath,
    DEPLOYER_QUEUE: queueName,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info'
  }
  await migrateControlDatabase(databaseUrl(controlDb))
  const port = await freePort()
  let processes: BenchProcess[] = []
  let starts = 0
  const startProcesses = async (): Promise<void> => {
    // A log file per start: readiness is a line of the new process's log, not the last one's.
    starts++
    const api = await startApi(serviceEnv, port, path.join(tmp, `api-${starts}.log`))
    processes.push(api)
    processes.push(await startWorker(serviceEnv, path.join(tmp, `worker-${starts}.log`)))
  }
  const stopProcesses = async (): Promise<void> => {
    for (const child of processes.reverse()) await child.stop().catch(() => {})
    processes = []
  }
  let control: pg.Client | undefined
  try {
    await startProcesses()
    control = await connect(controlDb)
  } catch (error) {
    await stopProcesses()
    await dropDatabase(controlDb).catch(() => {})
    throw error
  }
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    control,
    controlDb,
    workspace,
    tokens,
    stopProcesses,
    startProcesses,
    close: async () => {
      await control?.end().catch(() => {})
      await stopProcesses()
      const queue = new Queue(queueName, { connection: redisConnectionOptions(process.env.REDIS_URL as string) })
      await queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
      await dropDatabase(controlDb).catch(() => {})
      await rm(tmp, { recursive: true, force: true })
    }
  }
}

/**
 * Waits, reading the control database every `everyMs`, until a deployment's status is one of
 * `statuses`. Returns it with the number of reads (each is a transaction PostgreSQL counts).
 */
export async function waitForStatus (
  control: pg.Client, id: string, statuses: string[], options: { everyMs: number, timeoutMs: number }
): Promise<{ status: string, polls: number }> {
  const deadline = Date.now() + options.timeoutMs
  for (let polls = 1; ; polls++) {
    const { rows } = await control.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [id])
    const status = rows[0]?.status
    if (status !== undefined && statuses.includes(status)) return { status, polls }
    if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${status ?? 'missing'} after ${options.timeoutMs} ms (waiting for ${statuses.join(' or ')})`)
    await new Promise((resolve) => setTimeout(resolve, options.everyMs))
  }
}

/** POST /deployments/:id/approve with `token`; throws unless the API answers 200. */
export async function approveDeployment (apiUrl: string, token: string, id: string): Promise<void> {
  const response = await fetch(`${apiUrl}/deployments/${id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ comment: 'bench' })
  })
  if (response.status !== 200) throw new Error(`POST /deployments/${id}/approve answered ${response.status}: ${await response.text()}`)
}

/** Rows written per control-database table (inserted, updated, deleted), and the commits, from PostgreSQL's statistics. */
export interface WriteCounts {
  commits: number
  by_table: Record<string, { inserted: number, updated: number, deleted: number }>
  rows_written: number
}

/**
 * The control database's write counters now. PostgreSQL flushes a backend's statistics when it
 * ends or after up to 10 s idle: read them with the service's processes stopped.
 */
export async function controlWrites (control: pg.Client): Promise<WriteCounts> {
  await control.query('SELECT pg_stat_clear_snapshot()')
  const tables = await control.query<{ relname: string, ins: string, upd: string, del: string }>(
    'SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del FROM pg_stat_user_tables ORDER BY relname')
  const db = await control.query<{ commits: string }>('SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()')
  const byTable: WriteCounts['by_table'] = {}
  let rows = 0
  for (const t of tables.rows) {
    const counts = { inserted: Number(t.ins), updated: Number(t.upd), deleted: Number(t.del) }
    byTable[t.relname] = counts
    rows += counts.inserted + counts.updated + counts.deleted
  }
  return { commits: Number(db.rows[0]?.commits ?? 0), by_table: byTable, rows_written: rows }
}

/** What was written between two readings of controlWrites (tables with no writes left out). */
export function writesBetween (before: WriteCounts, after: WriteCounts): WriteCounts {
  const byTable: WriteCounts['by_table'] = {}
  for (const [table, counts] of Object.entries(after.by_table)) {
    const was = before.by_table[table] ?? { inserted: 0, updated: 0, deleted: 0 }
    const delta = { inserted: counts.inserted - was.inserted, updated: counts.updated - was.updated, deleted: counts.deleted - was.deleted }
    if (delta.inserted + delta.updated + delta.deleted > 0) byTable[table] = delta
  }
  return { commits: after.commits - before.commits, by_table: byTable, rows_written: after.rows_written - before.rows_written }
}
