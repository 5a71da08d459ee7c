import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { runLoad, type LoadSummary } from './lib/load.js'
import { freePort, startBareServer, type BenchProcess } from './lib/processes.js'
import { mean, round } from './lib/stats.js'

export interface PollingResult {
  deployment_id: string
  response_bytes: number
  connections: number
  seconds: number
  bare: LoadSummary
  api: LoadSummary
  /** API req/s ÷ bare req/s. */
  ratio: number
  /** CPU time each server process spent per request answered: less sensitive to a busy machine than req/s. */
  cpu_ms_per_request: { bare: number, api: number }
  /** RSS of the API process: before the load, and sampled every 100 ms during it. */
  memory: { idle_mb: number, peak_mb: number, mean_mb: number, samples: number }
}

export interface PollingInput {
  apiUrl: string
  api: BenchProcess
  deploymentId: string
  token: string
  tmp: string
  connections: number
  seconds: number
  warmupSeconds: number
}

/**
 * Measures 1 (polling) and 5 (memory): autocannon against `GET /deployments/:id` on the API,
 * then against a bare Fastify route serving the same bytes from memory, one after the other in
 * the same run, each server in its own process. The API's RSS is sampled during its run.
 */
export async function measurePolling (input: PollingInput): Promise<PollingResult> {
  const headers = { authorization: `Bearer ${input.token}` }
  const apiPath = `/deployments/${input.deploymentId}`
  const response = await fetch(`${input.apiUrl}${apiPath}`, { headers })
  if (response.status !== 200) throw new Error(`GET ${apiPath} answered ${response.status}: ${await response.text()}`)
  const bytes = Buffer.from(await response.arrayBuffer())
  const bodyFile = path.join(input.tmp, 'deployment.json')
  await writeFile(bodyFile, bytes)

  const barePort = await freePort()
  const bare = await startBareServer(bodyFile, barePort, path.join(input.tmp, 'bare.log'))
  try {
    const bareUrl = `http://127.0.0.1:${barePort}${apiPath}`
    const bareBytes = Buffer.from(await (await fetch(bareUrl)).arrayBuffer())
    if (!bareBytes.equals(bytes)) throw new Error('the bare server does not answer the same bytes as the API')

    const load = { connections: input.connections, headers }
    // Warm both up first (JIT, connection pools), then measure each for the full duration.
    await runLoad({ ...load, url: bareUrl, duration: input.warmupSeconds })
    await runLoad({ ...load, url: `${input.apiUrl}${apiPath}`, duration: input.warmupSeconds })

    const bareCpu = await bare.cpuMs()
    const bareRun = await runLoad({ ...load, url: bareUrl, duration: input.seconds })
    const bareCpuMs = await bare.cpuMs() - bareCpu
    const idle = await input.api.rssMb()
    const apiCpu = await input.api.cpuMs()
    const samples: number[] = []
    const sampler = setInterval(() => { void input.api.rssMb().then((mb) => samples.push(mb), () => {}) }, 100)
    let apiRun: LoadSummary
    try {
      apiRun = await runLoad({ ...load, url: `${input.apiUrl}${apiPath}`, duration: input.seconds })
    } finally {
      clearInterval(sampler)
    }
    const apiCpuMs = await input.api.cpuMs() - apiCpu
    for (const [name, run] of [['bare', bareRun], ['api', apiRun]] as const) {
      if (run.non2xx > 0 || run.errors > 0) throw new Error(`polling the ${name} server: ${run.non2xx} non-2xx answers, ${run.errors} errors`)
    }
    return {
      deployment_id: input.deploymentId,
      response_bytes: bytes.length,
      connections: input.connections,
      seconds: input.seconds,
      bare: bareRun,
      api: apiRun,
      ratio: apiRun.rps / bareRun.rps,
      cpu_ms_per_request: { bare: round(bareCpuMs / bareRun.total, 4), api: round(apiCpuMs / apiRun.total, 4) },
      memory: { idle_mb: round(idle), peak_mb: round(Math.max(...samples)), mean_mb: round(mean(samples)), samples: samples.length }
    }
  } finally {
    await bare.stop()
  }
}
