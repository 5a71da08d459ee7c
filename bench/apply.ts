import { spawn } from 'node:child_process'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type pg from 'pg'
import { childEnvironment, libpqEnvironment } from '../src/backup/libpq-env.js'
import { compareNamesBytewise } from '../src/handlers/prisma/read-migrations.js'
import { assertSucceeded, postDeployment, waitForTerminal, wallMs } from './lib/api-client.js'
import { databaseUrl, recreateDatabase } from './lib/databases.js'
import { median, round } from './lib/stats.js'

export interface ApplyResult {
  migrations: number
  repetitions: number
  /** One psql process applying every file, each in its own transaction (wall time of the process). */
  psql_ms: number[]
  /** The service's deploy step: migration lock held → every migration applied and recorded. */
  service_apply_ms: number[]
  /** POST → succeeded through the service: plan (health, read, parse, lint) + apply + checks. */
  service_end_to_end_ms: number[]
  /** median(service apply) ÷ median(psql). */
  ratio: number
  /** median(service end to end) ÷ median(psql). */
  end_to_end_ratio: number
}

async function migrationFiles (corpus: string): Promise<string[]> {
  const entries = await readdir(corpus, { withFileTypes: true })
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort(compareNamesBytewise).map((name) => path.join(corpus, name, 'migration.sql'))
}

/** The baseline: one psql session, `BEGIN; \i <file> COMMIT;` per file, stopping at the first error. */
export async function applyWithPsql (files: string[], database: string, scriptFile: string): Promise<number> {
  const script = files.map((file) => `BEGIN;\n\\i '${file.replace(/'/g, "''")}'\nCOMMIT;\n`).join('')
  await writeFile(scriptFile, script)
  return await runPsqlScript(scriptFile, database)
}

/** Runs one psql session over `scriptFile` (stopping at the first error); its wall time in ms. */
export async function runPsqlScript (scriptFile: string, database: string): Promise<number> {
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    // Credentials go through the libpq environment, never the arguments.
    const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', scriptFile], { env: childEnvironment(libpqEnvironment(databaseUrl(database), 'migration-deployer bench psql')), stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    child.once('error', reject)
    child.once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`psql exited ${String(code)}: ${stderr.slice(-2000)}`)) })
  })
  return performance.now() - started
}

async function applyThroughService (input: ApplyInput): Promise<{ applyMs: number, endToEndMs: number }> {
  const sent = wallMs()
  const id = await postDeployment(input.apiUrl, input.token, { environment: 'corpus' })
  const row = await waitForTerminal(input.control, id, { everyMs: 20, timeoutMs: 300_000 })
  assertSucceeded(id, row)
  const applied = (row.report as { result?: { migrations_applied?: number } } | null)?.result?.migrations_applied
  if (applied !== input.expected) throw new Error(`deployment ${id} applied ${String(applied)} migrations, expected ${input.expected}`)
  const deploy = row.steps.find((step) => step.name === 'deploy')
  if (deploy?.started_at == null || deploy.finished_at == null) throw new Error(`deployment ${id} has no timed deploy step`)
  return { applyMs: Date.parse(deploy.finished_at) - Date.parse(deploy.started_at), endToEndMs: (row.finished_ms as number) - sent }
}

export interface ApplyInput {
  apiUrl: string
  token: string
  control: pg.Client
  corpus: string
  corpusDb: string
  psqlDb: string
  tmp: string
  repetitions: number
  expected: number
}

/**
 * Measure 4: the corpus applied through the service (POST to the `corpus` environment) and by
 * one psql process, each into a freshly created database, alternating, `repetitions` times.
 */
export async function measureApply (input: Omit<ApplyInput, 'expected'>): Promise<ApplyResult> {
  const files = await migrationFiles(input.corpus)
  const psqlMs: number[] = []
  const serviceMs: number[] = []
  const endToEndMs: number[] = []
  for (let rep = 0; rep < input.repetitions; rep++) {
    await recreateDatabase(input.psqlDb)
    psqlMs.push(await applyWithPsql(files, input.psqlDb, path.join(input.tmp, 'psql-apply.sql')))
    await recreateDatabase(input.corpusDb)
    const service = await applyThroughService({ ...input, expected: files.length })
    serviceMs.push(service.applyMs)
    endToEndMs.push(service.endToEndMs)
  }
  return {
    migrations: files.length,
    repetitions: input.repetitions,
    psql_ms: psqlMs.map((ms) => round(ms)),
    service_apply_ms: serviceMs.map((ms) => round(ms)),
    service_end_to_end_ms: endToEndMs.map((ms) => round(ms)),
    ratio: median(serviceMs) / median(psqlMs),
    end_to_end_ratio: median(endToEndMs) / median(psqlMs)
  }
}
