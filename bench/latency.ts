import type pg from 'pg'
import type { BenchProcess } from './lib/processes.js'
import { assertSucceeded, postDeployment, waitForTerminal, wallMs } from './lib/api-client.js'
import { median, percentile, round } from './lib/stats.js'

export interface LatencyResult {
  runs: number
  /** POST sent → 202 received. */
  accepted_ms: { median: number, p95: number }
  /** POST sent → the worker claimed it (the row's started_at). */
  worker_start_ms: { median: number, p95: number }
  /** POST sent → succeeded (the row's finished_at), nothing pending. */
  noop_end_to_end_ms: { median: number, p95: number }
  /** CPU time per no-op deployment in the API and in the worker process. */
  cpu_ms_per_deployment: { api: number, worker: number }
}

const summary = (samples: number[]): { median: number, p95: number } => ({ median: round(median(samples)), p95: round(percentile(samples, 95)) })

/**
 * Measure 3: `runs` no-op deployments to dev (everything already applied), one after the other.
 * Times run from the moment the POST is sent to the row's own `started_at` and `finished_at`.
 */
export async function measureLatency (input: {
  apiUrl: string
  api: BenchProcess
  worker: BenchProcess
  token: string
  control: pg.Client
  runs: number
  warmup: number
}): Promise<LatencyResult> {
  const accepted: number[] = []
  const workerStart: number[] = []
  const endToEnd: number[] = []
  let cpu = { api: 0, worker: 0 }
  for (let run = 0; run < input.warmup + input.runs; run++) {
    const sent = wallMs()
    const id = await postDeployment(input.apiUrl, input.token, { environment: 'dev' })
    const answered = wallMs()
    const row = await waitForTerminal(input.control, id, { everyMs: 2, timeoutMs: 30_000 })
    assertSucceeded(id, row)
    const result = (row.report as { result?: { migrations_applied?: number } } | null)?.result
    if (result?.migrations_applied !== 0) throw new Error(`deployment ${id} was not a no-op: ${JSON.stringify(row.report)}`)
    if (run < input.warmup) continue
    if (run === input.warmup) cpu = { api: await input.api.cpuMs(), worker: await input.worker.cpuMs() }
    accepted.push(answered - sent)
    workerStart.push((row.started_ms as number) - sent)
    endToEnd.push((row.finished_ms as number) - sent)
  }
  const cpuPer = {
    api: round(((await input.api.cpuMs()) - cpu.api) / input.runs, 2),
    worker: round(((await input.worker.cpuMs()) - cpu.worker) / input.runs, 2)
  }
  return {
    runs: input.runs,
    accepted_ms: summary(accepted),
    worker_start_ms: summary(workerStart),
    noop_end_to_end_ms: summary(endToEnd),
    cpu_ms_per_deployment: cpuPer
  }
}
