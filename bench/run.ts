import { execFileSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import type pg from 'pg'
import { redisConnectionOptions } from '../src/config/runtime.js'
import { measureAccept, type AcceptResult } from './accept.js'
import { measureApply, type ApplyResult } from './apply.js'
import { fleetFigures, measureFleet, type FleetResult } from './fleet.js'
import { measureHistories, type HistoryResult } from './histories.js'
import { measurePreflight, preflightFigures, type PreflightResult } from './preflight.js'
import { measureLatency, type LatencyResult } from './latency.js'
import { measurePlanning, type PlanningResult } from './planning.js'
import { measurePolling, type PollingResult } from './polling.js'
import { assertSucceeded, postDeployment, waitForTerminal } from './lib/api-client.js'
import { createBenchEnv, PROJECT_ROOT, type BenchEnv } from './lib/bench-env.js'
import { connect } from './lib/databases.js'
import { freePort, startApi, startWorker, type BenchProcess } from './lib/processes.js'
import { info, markdownTable, targeted, updateReadmeBlock, writeJson, type Figure } from './lib/report.js'
import { median, round } from './lib/stats.js'

/**
 * `npm run bench`: the five measurements of the performance issue side by side in one run, each
 * figure printed with its target and whether it was met; results in bench/results/latest.json
 * and the table in bench/README.md. Needs DATABASE_URL and REDIS_URL (npm run bench sets them up)
 * and the built service (npm run bench builds it).
 *
 * BENCH_API_NODE_ARGS adds node flags to the API process (profiling).
 * BENCH_ONLY=polling,latency,apply,planning,accept,histories runs a subset (then nothing is committed-ready:
 * results go to bench/results/partial.json.tmp and the README is left alone).
 * The preflight and fleet parts (issues 19 and 21) run on services of their own, after the others;
 * run with their default settings, each writes bench/results/<part>.json and its own README block.
 */
const ALL = ['polling', 'latency', 'apply', 'planning', 'accept', 'histories', 'preflight', 'fleet'] as const
const MAIN: readonly Part[] = ['polling', 'latency', 'apply', 'planning', 'accept', 'histories']
type Part = typeof ALL[number]
const only = (process.env.BENCH_ONLY ?? ALL.join(',')).split(',').map((part) => part.trim()) as Part[]
const runs = (part: Part): boolean => only.includes(part)
const int = (name: string, fallback: number): number => Number(process.env[name] ?? fallback)
const SETTINGS = {
  poll_connections: int('BENCH_POLL_CONNECTIONS', 100),
  poll_seconds: int('BENCH_POLL_SECONDS', 10),
  warmup_seconds: int('BENCH_WARMUP_SECONDS', 2),
  latency_runs: int('BENCH_LATENCY_RUNS', 200),
  apply_repetitions: int('BENCH_APPLY_REPETITIONS', 3),
  planning_repetitions: int('BENCH_PLANNING_REPETITIONS', 9),
  accept_connections: int('BENCH_ACCEPT_CONNECTIONS', 100),
  accept_seconds: int('BENCH_ACCEPT_SECONDS', 10),
  history_repetitions: int('BENCH_HISTORY_REPETITIONS', 3),
  peer_repetitions: int('BENCH_PEER_REPETITIONS', 1),
  preflight_rows: int('BENCH_PREFLIGHT_ROWS', 100_000),
  preflight_repetitions: int('BENCH_PREFLIGHT_REPETITIONS', 3),
  fleet_idle: int('BENCH_FLEET_IDLE', 1000),
  fleet_busy: int('BENCH_FLEET_BUSY', 200),
  fleet_baseline: int('BENCH_FLEET_BASELINE', 100),
  fleet_concurrencies: process.env.BENCH_FLEET_CONCURRENCIES ?? '8,16,32',
  fleet_repetitions: int('BENCH_FLEET_REPETITIONS', 3),
  fleet_busy_repetitions: int('BENCH_FLEET_BUSY_REPETITIONS', 2)
}
const DEFAULTS = {
  poll_connections: 100,
  poll_seconds: 10,
  warmup_seconds: 2,
  latency_runs: 200,
  apply_repetitions: 3,
  planning_repetitions: 9,
  accept_connections: 100,
  accept_seconds: 10,
  history_repetitions: 3,
  peer_repetitions: 1,
  preflight_rows: 100_000,
  preflight_repetitions: 3,
  fleet_idle: 1000,
  fleet_busy: 200,
  fleet_baseline: 100,
  fleet_concurrencies: '8,16,32',
  fleet_repetitions: 3,
  fleet_busy_repetitions: 2
}

interface Results {
  polling?: PollingResult
  latency?: LatencyResult
  apply?: ApplyResult
  planning?: PlanningResult
  accept?: AcceptResult
  histories?: HistoryResult[]
  preflight?: PreflightResult
  fleet?: FleetResult
}

const say = (text: string): void => { process.stderr.write(`bench: ${text}\n`) }

async function measureAll (env: BenchEnv, results: Results): Promise<void> {
  const apiPort = await freePort()
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const processes: BenchProcess[] = []
  let control: pg.Client | undefined
  try {
    // BENCH_API_NODE_ARGS: node flags for the API process (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof to profile it).
    const apiNodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '')
    const api = await startApi(env.serviceEnv, apiPort, path.join(env.tmp, 'api.log'), apiNodeArgs)
    processes.push(api)
    const worker = await startWorker(env.serviceEnv, path.join(env.tmp, 'worker.log'))
    processes.push(worker)
    control = await connect(env.controlDb)

    say('seeding: deploying the example app to dev (the deployment polled below)')
    const seeded = await postDeployment(apiUrl, env.tokens.deployer, { environment: 'dev', source: { ref: 'bench' } })
    assertSucceeded(seeded, await waitForTerminal(control, seeded, { everyMs: 20, timeoutMs: 60_000 }))

    if (runs('polling')) {
      say(`polling: ${SETTINGS.poll_connections} connections, ${SETTINGS.poll_seconds} s each against the bare server and the API`)
      results.polling = await measurePolling({
        apiUrl,
        api,
        deploymentId: seeded,
        token: env.tokens.viewer,
        tmp: env.tmp,
        connections: SETTINGS.poll_connections,
        seconds: SETTINGS.poll_seconds,
        warmupSeconds: SETTINGS.warmup_seconds
      })
    }
    if (runs('latency')) {
      say(`latency: ${SETTINGS.latency_runs} no-op deployments to dev, one at a time`)
      results.latency = await measureLatency({ apiUrl, api, worker, token: env.tokens.deployer, control, runs: SETTINGS.latency_runs, warmup: 5 })
    }
    if (runs('apply')) {
      say(`apply: documenso's migrations through the service and through psql, ${SETTINGS.apply_repetitions} times each`)
      results.apply = await measureApply({
        apiUrl,
        token: env.tokens.deployer,
        control,
        corpus: env.corpus,
        corpusDb: env.corpusDb,
        psqlDb: env.psqlDb,
        tmp: env.tmp,
        repetitions: SETTINGS.apply_repetitions
      })
    }
    if (runs('planning')) {
      say('planning: read, checksum, parse and lint the corpus in this process')
      results.planning = await measurePlanning(env.corpus, SETTINGS.planning_repetitions)
    }
    if (runs('histories')) {
      say(`histories: ${env.histories.map((h) => h.label).join(' and ')}, each through the service (dev), one psql session and prisma migrate deploy, ${SETTINGS.history_repetitions} times (the peer ${SETTINGS.peer_repetitions})`)
      results.histories = await measureHistories({
        apiUrl,
        token: env.tokens.deployer,
        control,
        histories: env.histories,
        psqlDb: env.psqlDb,
        peerDb: env.peerDb,
        tmp: env.tmp,
        repetitions: SETTINGS.history_repetitions,
        peerRepetitions: SETTINGS.peer_repetitions
      })
      for (const history of results.histories) if (history.prisma_skipped !== undefined) say(`histories: ${history.prisma_skipped}`)
    }
    if (runs('accept')) {
      // Last, with the worker stopped: the burst's dry runs stay queued and are dropped with the bench's databases and queue.
      await worker.stop()
      say(`accept: POST /deployments (dry runs to dev), ${SETTINGS.accept_connections} connections for ${SETTINGS.accept_seconds} s`)
      results.accept = await measureAccept({
        apiUrl,
        api,
        token: env.tokens.deployer,
        control,
        connections: SETTINGS.accept_connections,
        seconds: SETTINGS.accept_seconds
      })
    }
  } finally {
    await control?.end().catch(() => {})
    for (const child of processes.reverse()) await child.stop().catch(() => {})
  }
}

function figuresOf (results: Results): Figure[] {
  const figures: Figure[] = []
  const { polling, accept, latency, apply, planning, preflight, fleet } = results
  if (polling !== undefined) {
    figures.push(
      targeted('polling.ratio', `1. Polling: API req/s ÷ bare Fastify req/s (${polling.connections} connections, ${polling.seconds} s)`, round(polling.ratio, 3), '×', '>=', 0.5),
      targeted('polling.api_p99_ms', '1. Polling: API p99 latency', polling.api.p99Ms, 'ms', '<=', 20),
      info('polling.api_rps', '1. Polling: API req/s', round(polling.api.rps), 'req/s'),
      info('polling.api_p50_ms', '1. Polling: API p50 latency', polling.api.p50Ms, 'ms'),
      info('polling.bare_rps', '1. Polling: bare Fastify req/s (same bytes from memory)', round(polling.bare.rps), 'req/s'),
      info('polling.bare_p50_p99_ms', '1. Polling: bare Fastify p50 / p99', `${polling.bare.p50Ms} / ${polling.bare.p99Ms}`, 'ms'),
      info('polling.cpu_ms_per_request', '1. Polling: CPU per request, API / bare', `${polling.cpu_ms_per_request.api} / ${polling.cpu_ms_per_request.bare}`, 'ms')
    )
  }
  if (accept !== undefined) {
    figures.push(
      targeted('accept.per_second', `2. Accept rate: POST /deployments accepted (${accept.connections} connections)`, round(accept.accepted_per_second), '/s', '>=', 1000),
      { key: 'accept.durable', label: '2. Accept rate: accepted deployments found in the control DB (rows, created events)', value: `${accept.rows_found} / ${accept.created_events_found} of ${accept.accepted}`, unit: '', target: { op: '>=', value: 'all' }, met: accept.durable },
      info('accept.p99_ms', '2. Accept rate: POST p50 / p99 latency', `${accept.load.p50Ms} / ${accept.load.p99Ms}`, 'ms'),
      info('accept.cpu_ms_per_request', '2. Accept rate: API CPU per POST', accept.api_cpu_ms_per_request, 'ms')
    )
  }
  if (latency !== undefined) {
    figures.push(
      targeted('latency.noop_median_ms', `3. Latency: POST → succeeded, no-op, median of ${latency.runs}`, latency.noop_end_to_end_ms.median, 'ms', '<', 150),
      info('latency.noop_p95_ms', '3. Latency: POST → succeeded, no-op, p95', latency.noop_end_to_end_ms.p95, 'ms'),
      info('latency.worker_start_ms', '3. Latency: POST → worker start, median / p95', `${latency.worker_start_ms.median} / ${latency.worker_start_ms.p95}`, 'ms'),
      info('latency.accepted_ms', '3. Latency: POST → 202, median / p95', `${latency.accepted_ms.median} / ${latency.accepted_ms.p95}`, 'ms'),
      info('latency.cpu_ms_per_deployment', '3. Latency: CPU per no-op deployment, API / worker', `${latency.cpu_ms_per_deployment.api} / ${latency.cpu_ms_per_deployment.worker}`, 'ms')
    )
  }
  if (apply !== undefined) {
    figures.push(
      targeted('apply.ratio', `4. Apply: ${apply.migrations} migrations, service apply ÷ one psql process (median of ${apply.repetitions})`, round(apply.ratio, 3), '×', '<=', 1.15),
      info('apply.service_ms', '4. Apply: service deploy step (lock held → all applied), each run', apply.service_apply_ms.join(', '), 'ms'),
      info('apply.psql_ms', '4. Apply: psql, one transaction per file, each run', apply.psql_ms.join(', '), 'ms'),
      info('apply.end_to_end_ms', '4. Apply: service POST → succeeded (plan + apply + checks), each run', apply.service_end_to_end_ms.join(', '), 'ms'),
      info('apply.end_to_end_ratio', '4. Apply: service end to end ÷ psql', round(apply.end_to_end_ratio, 2), '×')
    )
  }
  if (planning !== undefined) {
    figures.push(info('planning.total_ms', `4. Planning alone: ${planning.migrations} migrations (read ${planning.read_and_checksum_ms} + parse ${planning.parse_ms} + lint ${planning.lint_ms} ms apart)`, planning.total_ms, 'ms'))
    if (planning.total_warm_ms !== undefined) {
      figures.push(targeted('planning.total_warm_ms', `4. Planning alone: ${planning.migrations} migrations again, checksums seen before`, planning.total_warm_ms, 'ms', '<=', 50))
    }
  }
  for (const [index, history] of (results.histories ?? []).entries()) {
    const key = `histories.${index}`
    const name = `6. ${history.label} (${history.migrations}, ${history.non_transactional} outside a transaction)`
    const spread = (samples: number[]): string => samples.length === 0 ? 'skipped' : `${round(median(samples))} (${samples.join(', ')})`
    figures.push(
      targeted(`${key}.deploy_ratio`, `${name}: service deploy step ÷ one psql session (median of ${history.psql_ms.length})`, round(history.deploy_ratio, 2), '×', '<=', 1.15),
      targeted(`${key}.end_to_end_ratio`, `${name}: service POST → succeeded ÷ one psql session`, round(history.end_to_end_ratio, 2), '×', '<=', 1.5),
      info(`${key}.psql_ms`, `${name}: psql, median (each run)`, spread(history.psql_ms), 'ms'),
      info(`${key}.service_deploy_ms`, `${name}: service deploy step, median (each run)`, spread(history.service_deploy_ms), 'ms'),
      info(`${key}.service_end_to_end_ms`, `${name}: service POST → succeeded, median (each run)`, spread(history.service_end_to_end_ms), 'ms'),
      info(`${key}.steps_ms`, `${name}: service steps, last run`, Object.entries(history.service_steps_ms.at(-1) ?? {}).map(([step, ms]) => `${step} ${ms}`).join(', '), 'ms'),
      info(`${key}.prisma_ms`, `${name}: prisma migrate deploy (6.19.3), median (each run)`, history.prisma_skipped ?? spread(history.prisma_ms), history.prisma_skipped === undefined ? 'ms' : ''),
      info(`${key}.prisma_ratio`, `${name}: prisma migrate deploy ÷ one psql session`, history.prisma_ratio === undefined ? 'skipped' : round(history.prisma_ratio, 2), history.prisma_ratio === undefined ? '' : '×'),
      info(`${key}.load`, `${name}: 1-minute load average at each repetition`, history.load.join(', '))
    )
  }
  if (polling !== undefined) {
    figures.push(
      targeted('memory.api_peak_rss_mb', '5. Memory: API RSS under the polling load, peak', polling.memory.peak_mb, 'MB', '<', 150),
      info('memory.api_idle_rss_mb', '5. Memory: API RSS before the load / mean during it', `${polling.memory.idle_mb} / ${polling.memory.mean_mb}`, 'MB')
    )
  }
  if (preflight !== undefined) figures.push(...preflightFigures(preflight))
  if (fleet !== undefined) figures.push(...fleetFigures(fleet))
  return figures
}

function gitCommit (): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${commit} (src modified)` : commit
  } catch {
    return 'unknown'
  }
}

async function main (): Promise<void> {
  const loadBefore = loadavg()
  const results: Results = {}
  if (MAIN.some(runs)) {
    const env = await createBenchEnv()
    const stop = (): void => { void env.cleanup().finally(() => process.exit(130)) }
    process.once('SIGINT', stop)
    try {
      await measureAll(env, results)
    } finally {
      const queue = new Queue(env.queueName, { connection: redisConnectionOptions(process.env.REDIS_URL as string) })
      await queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
      await env.cleanup()
      process.off('SIGINT', stop)
    }
  }
  const partLoad: Partial<Record<Part, number[][]>> = {}
  if (runs('preflight')) {
    say(`preflight: documenso's history on a target seeded with ${SETTINGS.preflight_rows} rows, ${SETTINGS.preflight_repetitions} runs`)
    const before = loadavg()
    results.preflight = await measurePreflight({ rows: SETTINGS.preflight_rows, repetitions: SETTINGS.preflight_repetitions })
    partLoad.preflight = [before, loadavg()]
  }
  if (runs('fleet')) {
    say(`fleet: ${SETTINGS.fleet_idle} idle tenants, ${SETTINGS.fleet_busy} × 5 migrations`)
    const before = loadavg()
    results.fleet = await measureFleet({
      idle: SETTINGS.fleet_idle,
      busy: SETTINGS.fleet_busy,
      baseline: SETTINGS.fleet_baseline,
      concurrencies: SETTINGS.fleet_concurrencies.split(',').map(Number),
      repetitions: SETTINGS.fleet_repetitions,
      busyRepetitions: SETTINGS.fleet_busy_repetitions
    })
    partLoad.fleet = [before, loadavg()]
  }
  const figures = figuresOf(results)
  const complete = ALL.every(runs) && JSON.stringify(SETTINGS) === JSON.stringify(DEFAULTS)
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', node: process.version, load_average_before: loadBefore.map((l) => round(l, 2)), load_average_after: loadavg().map((l) => round(l, 2)) }
  const output = { generated_at: new Date().toISOString(), commit: gitCommit(), complete, settings: SETTINGS, machine, figures, results }
  const table = markdownTable(figures)
  process.stdout.write(`\n${table}\n\n`)
  const unmet = figures.filter((figure) => figure.met === false)
  process.stdout.write(unmet.length === 0 ? 'every target met\n' : `targets not met: ${unmet.map((figure) => figure.key).join(', ')}\n`)
  if (complete) {
    await writeJson(path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json'), output)
    await updateReadmeBlock(path.join(PROJECT_ROOT, 'bench', 'README.md'), `Run ${output.generated_at} on commit ${output.commit}; ${machine.cpus} × ${machine.cpu_model}, Node ${machine.node}; load average before/after: ${machine.load_average_before.join(' ')} / ${machine.load_average_after.join(' ')}.\n\n${table}`)
    say('wrote bench/results/latest.json and the table in bench/README.md')
  } else {
    await writeJson(path.join(PROJECT_ROOT, 'bench', 'results', 'partial.json.tmp'), output)
    say('partial run (BENCH_ONLY or changed settings): wrote bench/results/partial.json.tmp only')
  }
  await recordParts(results, partLoad, output.commit, machine)
}

/**
 * The preflight and fleet parts, run at their default sizes (rows, tenants; repetitions may be
 * fewer on a busy machine, and the results say so): their own results file and README block.
 */
async function recordParts (
  results: Results, partLoad: Partial<Record<Part, number[][]>>, commit: string, machine: { cpus: number, cpu_model: string, node: string }
): Promise<void> {
  const parts = { preflight: preflightFigures, fleet: fleetFigures } as const
  for (const part of ['preflight', 'fleet'] as const) {
    const result = results[part]
    const keys = (['preflight_rows', 'fleet_idle', 'fleet_busy'] as const).filter((key) => key.startsWith(`${part}_`))
    if (result === undefined || keys.some((key) => SETTINGS[key] !== DEFAULTS[key])) continue
    const figures = (parts[part] as (r: typeof result) => Figure[])(result)
    const load = (partLoad[part] ?? []).map((l) => l.map((v) => round(v, 2)).join(' '))
    const at = new Date().toISOString()
    const settings = Object.fromEntries(Object.entries(SETTINGS).filter(([key]) => key.startsWith(`${part}_`)))
    await writeJson(path.join(PROJECT_ROOT, 'bench', 'results', `${part}.json`), { generated_at: at, commit, machine, load_average_before_after: load, settings, figures, result })
    await updateReadmeBlock(path.join(PROJECT_ROOT, 'bench', 'README.md'),
      `Run ${at} on commit ${commit}; ${machine.cpus} × ${machine.cpu_model}, Node ${machine.node}; load average before/after: ${load.join(' / ')}; ` +
      `settings ${JSON.stringify(settings)}.\n\n${markdownTable(figures)}`, part)
    say(`wrote bench/results/${part}.json and its table in bench/README.md`)
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exitCode = 1
})
