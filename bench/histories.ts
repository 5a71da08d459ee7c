import { writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import path from 'node:path'
import type pg from 'pg'
import { analyzeMigrationSql } from '../src/analysis/index.js'
import { readPrismaMigrations } from '../src/handlers/prisma/read-migrations.js'
import { runPsqlScript } from './apply.js'
import { assertSucceeded, postDeployment, waitForTerminal, wallMs } from './lib/api-client.js'
import type { BenchHistory } from './lib/bench-env.js'
import { databaseUrl, recreateDatabase } from './lib/databases.js'
import { preparePrismaPeer, prismaPeerMissing, type PrismaPeer } from './lib/prisma-peer.js'
import { median, round } from './lib/stats.js'

/** One history deployed whole into fresh databases: by the service, by one psql session, by Prisma. */
export interface HistoryResult {
  label: string
  migrations: number
  /** Files psql ran as written (outside BEGIN/COMMIT): CONCURRENTLY and the like, or their own transaction. */
  non_transactional: number
  /** One psql session: `BEGIN; \i file COMMIT;` per transactional file, the others as written. */
  psql_ms: number[]
  /** The service's deploy step (lock held → every migration applied and recorded). */
  service_deploy_ms: number[]
  /** POST → succeeded through the service. */
  service_end_to_end_ms: number[]
  /** Each run's other steps (name → ms), to see where the rest of the end-to-end time goes. */
  service_steps_ms: Array<Record<string, number>>
  /** `prisma migrate deploy` (Prisma 6.19.3, wall time of the CLI), or why it was skipped. */
  prisma_ms: number[]
  prisma_skipped?: string
  /** The 1-minute load average when each repetition started. */
  load: number[]
  deploy_ratio: number
  end_to_end_ratio: number
  prisma_ratio?: number
}

export interface HistoriesInput {
  apiUrl: string
  token: string
  control: pg.Client
  histories: BenchHistory[]
  psqlDb: string
  peerDb: string
  tmp: string
  repetitions: number
  /** How many of the repetitions also run the peer (it takes seconds: an engine timer). */
  peerRepetitions: number
}

/** Which files psql must run as written: those PostgreSQL refuses in a transaction block, and those with their own. */
async function psqlScript (folder: string, scriptFile: string): Promise<{ migrations: number, nonTransactional: number }> {
  const files = await readPrismaMigrations(folder)
  const lines: string[] = []
  let nonTransactional = 0
  for (const file of files) {
    const analysis = await analyzeMigrationSql(file.sql)
    const include = `\\i '${path.join(folder, file.name, 'migration.sql').replace(/'/g, "''")}'\n`
    if (analysis.transactional && !analysis.managesOwnTransaction) lines.push(`BEGIN;\n${include}COMMIT;\n`)
    else {
      nonTransactional++
      lines.push(include)
    }
  }
  await writeFile(scriptFile, lines.join(''))
  return { migrations: files.length, nonTransactional }
}

const stepMs = (step: { started_at: string | null, finished_at: string | null }): number =>
  step.started_at === null || step.finished_at === null ? Number.NaN : Date.parse(step.finished_at) - Date.parse(step.started_at)

interface ServiceRun { deployMs: number, endToEndMs: number, steps: Record<string, number> }

async function deployThroughService (input: HistoriesInput, history: BenchHistory, expected: number): Promise<ServiceRun> {
  const sent = wallMs()
  const id = await postDeployment(input.apiUrl, input.token, { environment: history.environment })
  const row = await waitForTerminal(input.control, id, { everyMs: 20, timeoutMs: 600_000 })
  assertSucceeded(id, row)
  const applied = (row.report as { result?: { migrations_applied?: number } } | null)?.result?.migrations_applied
  if (applied !== expected) throw new Error(`deployment ${id} applied ${String(applied)} migrations, expected ${expected}`)
  const steps = Object.fromEntries(row.steps.map((step) => [step.name, round(stepMs(step))]))
  const deploy = steps.deploy
  if (deploy === undefined || Number.isNaN(deploy)) throw new Error(`deployment ${id} has no timed deploy step`)
  return { deployMs: deploy, endToEndMs: (row.finished_ms as number) - sent, steps }
}

/**
 * The histories part: each history deployed whole into a fresh database by the service (POST →
 * succeeded, a dev environment), by one psql session, and by the real `prisma migrate deploy`
 * when ../shared/prisma6 is there; alternating, `repetitions` times, in the same run.
 */
export async function measureHistories (input: HistoriesInput): Promise<HistoryResult[]> {
  const skipped = prismaPeerMissing()
  const peer: PrismaPeer | undefined = skipped === undefined && input.peerRepetitions > 0 ? await preparePrismaPeer() : undefined
  const results: HistoryResult[] = []
  for (const history of input.histories) {
    const scriptFile = path.join(input.tmp, `psql-${history.environment}.sql`)
    const { migrations, nonTransactional } = await psqlScript(history.folder, scriptFile)
    const result: HistoryResult = {
      label: history.label,
      migrations,
      non_transactional: nonTransactional,
      psql_ms: [],
      service_deploy_ms: [],
      service_end_to_end_ms: [],
      service_steps_ms: [],
      prisma_ms: [],
      ...(skipped === undefined ? {} : { prisma_skipped: skipped }),
      load: [],
      deploy_ratio: Number.NaN,
      end_to_end_ratio: Number.NaN
    }
    for (let rep = 0; rep < input.repetitions; rep++) {
      result.load.push(round(loadavg()[0] ?? Number.NaN, 2))
      await recreateDatabase(input.psqlDb)
      result.psql_ms.push(round(await runPsqlScript(scriptFile, input.psqlDb)))
      await recreateDatabase(history.database)
      const service = await deployThroughService(input, history, migrations)
      result.service_deploy_ms.push(service.deployMs)
      result.service_end_to_end_ms.push(round(service.endToEndMs))
      result.service_steps_ms.push(service.steps)
      if (peer !== undefined && rep < input.peerRepetitions) {
        await recreateDatabase(input.peerDb)
        result.prisma_ms.push(round(await peer.deploy(databaseUrl(input.peerDb), history.folder)))
      }
    }
    const psql = median(result.psql_ms)
    result.deploy_ratio = median(result.service_deploy_ms) / psql
    result.end_to_end_ratio = median(result.service_end_to_end_ms) / psql
    if (result.prisma_ms.length > 0) result.prisma_ratio = median(result.prisma_ms) / psql
    results.push(result)
  }
  return results
}
