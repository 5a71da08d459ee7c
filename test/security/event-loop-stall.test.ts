import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { serviceEnv, spawnService, until, writeServiceConfig, type ServiceProcess } from '../reliability/helpers/processes.js'

/**
 * Issue 17, finding 3: one request must not stall the event loop. In the all-in-one `start`
 * process the worker shares the API's event loop, so a plan that parses 200,000 statements on it
 * held /healthz for seconds and made another user's health check time out. Measured from outside,
 * as a client sees it: requests to /healthz and polls of a deployment, sent at a steady rate
 * whether or not earlier ones came back (so a stall counts once per request it held, not once).
 */

const ENVIRONMENTS = {
  dev: { working_directory: 'app' },
  // Health checks as configured by default: connectivity, schema, migrations, within 5 s.
  staging: { working_directory: 'app' }
}
const BOUND_MS = 50
const SAMPLE_EVERY_MS = 20

const statements = (count: number): string => Array.from({ length: count }, (_unused, i) => `SELECT ${i % 10};`).join('\n')

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? Number.NaN
}

t.test('dry runs of huge migrations and deeply nested bodies never hold /healthz or polling past 50 ms (p99)', async (t) => {
  const h = await startHarness({ environments: ENVIRONMENTS, worker: false })
  const config = writeServiceConfig(h, ENVIRONMENTS, { limits: { rate_limit: { max: 1_000_000, window: '1m' } } })
  const processes: ServiceProcess[] = []
  t.teardown(async () => {
    for (const service of processes) service.kill('SIGKILL')
    await Promise.all(processes.map(async (service) => await service.exited))
    config.cleanup()
    await h.close()
  })
  const service = spawnService('start', serviceEnv(h, config.file, { WORKER_CONCURRENCY: '4' }), processes)
  await service.ready
  const base = service.url as string
  const headers = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}-token`, 'content-type': 'application/json' })
  const post = async (token: string, body: string): Promise<{ status: number, json: any }> => {
    const response = await fetch(`${base}/deployments`, { method: 'POST', headers: headers(token), body })
    return { status: response.status, json: await response.json() }
  }
  const statusOf = async (id: string): Promise<string> => ((await (await fetch(`${base}/deployments/${id}`, { headers: headers('viewer') })).json()) as { status: string }).status
  const TERMINAL = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']
  // Node's event-loop delay histogram, reset by every scrape: read once before the flood, once after.
  const scrapeLoopLag = async (): Promise<{ p99: number, max: number }> => {
    const text = await (await fetch(`${base}/metrics`, { headers: headers('viewer') })).text()
    const read = (name: string): number => Math.round(Number(new RegExp(`^migration_deployer_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000)
    return { p99: read('p99'), max: read('max') }
  }

  // A small deployment to poll, planned once so the service is warm (parser loaded) before measuring.
  const polled = await post('ci-bot', JSON.stringify({ environment: 'dev', dry_run: true, migrations: [{ name: '20260101000000_warm', sql: 'SELECT 1;' }] }))
  t.equal(polled.status, 202)
  const pollId = polled.json.id as string
  await until(async () => (await statusOf(pollId)) === 'succeeded' ? true : undefined, 'the warm-up dry run', 120_000)

  // Bodies built before measuring: the client's own work is not the server's latency.
  const huge = JSON.stringify({ environment: 'dev', dry_run: true, migrations: [{ name: '20260101000001_huge', sql: statements(200_000) }] })
  const nested = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`
  const large = (n: number): string => JSON.stringify({ environment: 'dev', dry_run: true, migrations: [{ name: `2026010100001${n}_large`, sql: statements(8_000) }] })
  t.comment(`bodies: ${(huge.length / 1e6).toFixed(1)} MB with 200,000 statements, ${(nested.length / 1e6).toFixed(1)} MB nested 10^6 deep, ${(large(0).length / 1e3).toFixed(0)} kB with 8,000 statements`)

  // Latency until the answer (or the error): a request that fails is counted with what it waited, and as an error.
  const samples: Record<'healthz' | 'poll', number[]> = { healthz: [], poll: [] }
  const errors: Record<'healthz' | 'poll', string[]> = { healthz: [], poll: [] }
  const inFlight: Array<Promise<void>> = []
  let tick = 0
  const sampler = setInterval(() => {
    const kind = tick++ % 2 === 0 ? 'healthz' : 'poll'
    const started = performance.now()
    const url = kind === 'healthz' ? `${base}/healthz` : `${base}/deployments/${pollId}`
    inFlight.push(fetch(url, { headers: headers('viewer') }).then(async (response) => {
      await response.arrayBuffer()
      if (response.status !== 200) errors[kind].push(`HTTP ${response.status}`)
    }, (error: Error) => { errors[kind].push(String((error.cause as Error | undefined)?.message ?? error.message)) }).finally(() => {
      samples[kind].push(performance.now() - started)
    }))
  }, SAMPLE_EVERY_MS)

  // The machine's own noise, before anything hostile arrives (the same sampler, three seconds).
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const baseline = { healthz: [...samples.healthz], poll: [...samples.poll] }
  samples.healthz.length = 0
  samples.poll.length = 0
  await scrapeLoopLag()
  const floodStarted = performance.now()
  const [hugeAnswers, nestedAnswers, largeAnswers, other] = await Promise.all([
    Promise.all([0, 1, 2].map(async () => await post('ci-bot', huge))),
    Promise.all([0, 1].map(async () => await post('ci-bot', nested))),
    Promise.all([0, 1, 2].map(async (n) => await post('ci-bot', large(n)))),
    // Another user's real deployment, with its health checks, during the flood.
    post('carol', JSON.stringify({ environment: 'staging' }))
  ])
  const accepted = [...hugeAnswers, ...largeAnswers, other].filter((answer) => answer.status === 202).map((answer) => answer.json.id as string)
  const deadline = Date.now() + 90_000
  await until(async () => {
    const statuses = await Promise.all(accepted.map(statusOf))
    return statuses.every((status) => TERMINAL.includes(status)) || Date.now() > deadline ? true : undefined
  }, 'the flood\'s deployments to finish', 120_000, 200)
  clearInterval(sampler)
  await Promise.all(inFlight)
  const seconds = (performance.now() - floodStarted) / 1000
  const lag = await scrapeLoopLag()
  t.comment(`the server's event loop during the flood: delay p99 ${lag.p99} ms, max ${lag.max} ms (Node's own histogram)`)

  for (const answer of hugeAnswers) {
    t.equal(answer.status, 422, `200,000 statements: refused in the request (${JSON.stringify(answer.json).slice(0, 200)})`)
    t.equal(answer.json.error?.code, 'MIGRATION_TOO_LARGE')
    t.match(answer.json.error?.message, /migration "20260101000001_huge" holds more than 10000 statements \(limits\.max_statements_per_migration\)/)
  }
  for (const answer of nestedAnswers) {
    t.equal(answer.status, 400, 'nested 10^6 deep: 400')
    t.equal(answer.json.error?.code, 'JSON_TOO_DEEP')
  }
  for (const answer of largeAnswers) t.equal(answer.status, 202, '8,000 statements: accepted')
  const largeStatuses = await Promise.all(largeAnswers.map(async (answer) => answer.json.id === undefined ? 'not created' : await statusOf(answer.json.id)))
  t.same(largeStatuses, ['succeeded', 'succeeded', 'succeeded'], 'the 8,000-statement dry runs were planned (on the analysis thread)')
  t.equal(other.status, 202)
  const otherDeployment = await (await fetch(`${base}/deployments/${other.json.id as string}`, { headers: headers('viewer') })).json() as { status: string, report: unknown }
  t.equal(otherDeployment.status, 'succeeded', `another user's deployment is unaffected: ${JSON.stringify(otherDeployment.report).slice(0, 300)}`)

  for (const kind of ['healthz', 'poll'] as const) {
    const values = samples[kind]
    const p99 = percentile(values, 0.99)
    t.comment(`${kind} before the flood: p50 ${percentile(baseline[kind], 0.5).toFixed(1)} ms, p99 ${percentile(baseline[kind], 0.99).toFixed(1)} ms (${baseline[kind].length} requests)`)
    t.comment(`${kind}: ${values.length} requests over ${seconds.toFixed(1)} s; p50 ${percentile(values, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`)
    t.ok(values.length >= 50, `${kind}: enough samples (${values.length})`)
    t.same(errors[kind].slice(0, 3), [], `${kind}: every request answered 200 (${errors[kind].length} did not)`)
    t.ok(p99 < BOUND_MS, `${kind}: p99 ${p99.toFixed(1)} ms < ${BOUND_MS} ms while the flood is handled`)
  }
})
