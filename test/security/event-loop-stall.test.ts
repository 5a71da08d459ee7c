import t from 'tap'
import { startHarness } from '../helpers/harness.js'
import { serviceEnv, spawnService, writeServiceConfig, type ServiceProcess } from '../reliability/helpers/processes.js'
import { until } from '../helpers/until.js'

/**
 * Issue 17, finding 3: one request must not stall the event loop. In the all-in-one `start`
 * process the worker shares the API's event loop, so a plan that parsed 200,000 statements on it
 * held /healthz for seconds and made another user's health check time out.
 *
 * Measured from outside, as a client sees it: /healthz and polls of a deployment, sent at a steady
 * rate whether or not earlier ones came back (a stall counts once per request it held). The goal
 * is a p99 under 50 ms. The bound asserted is that plus six times the p99 the same requests had
 * on the same machine just before the flood (and at least 500 ms): a shared or loaded machine answers slower whatever
 * the code does (the flood adds its own work on other cores: the analysis thread, squawk,
 * PostgreSQL), but a loop held for seconds (the code before issue 17: 17 s per
 * 200,000-statement parse on an idle machine) fails it by far anywhere.
 */

const ENVIRONMENTS = {
  dev: { working_directory: 'app' },
  // Health checks as configured by default: connectivity, schema, migrations, within 5 s.
  staging: { working_directory: 'app' }
}
const GOAL_MS = 50
const SAMPLE_EVERY_MS = 50
const QUIET_MS = 8000
const TERMINAL = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']

type Kind = 'healthz' | 'poll'
const NOISE_FACTOR = 6
// Never a bound below half a second: with another test file running beside this one, the load
// can change between the quiet and the flood samples (a CI run measured 303 ms against a bound
// of 209 ms). A stalled loop is held for seconds, so it still fails by far.
const STALL_FLOOR_MS = 500
// Samples from the flood's start: with 200 the p99 is the third-worst, not the single worst one a
// scheduling hiccup of this process makes (a loaded run measured one 701 ms sample among 80). A
// stall holds every request in flight, so it still shows in far more than two.
const FLOOD_SAMPLES = 200

const statements = (count: number): string => Array.from({ length: count }, (_unused, i) => `SELECT ${i % 10};`).join('\n')

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? Number.NaN
}

t.test('huge dry runs and deeply nested bodies do not stall /healthz or polling (p99)', async (t) => {
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
  // Read from the control database, not the API: the test's own polling must not load the server it measures.
  const statusesOf = async (ids: string[]): Promise<string[]> => {
    const { rows } = await h.runtime.pool.query<{ id: string, status: string }>('SELECT id, status FROM deployments WHERE id = ANY($1)', [ids])
    return ids.map((id) => rows.find((row) => row.id === id)?.status ?? 'not created')
  }
  // Node's event-loop delay histogram in the server, reset by every scrape (shown, not asserted).
  const scrapeLoopDelay = async (): Promise<string> => {
    const text = await (await fetch(`${base}/metrics`, { headers: headers('viewer') })).text()
    const read = (name: string): number => Math.round(Number(new RegExp(`^migration_deployer_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000)
    return `p99 ${read('p99')} ms, max ${read('max')} ms`
  }

  // A small deployment to poll, planned once so the service is warm (analysis thread up) first.
  const polled = await post('ci-bot', JSON.stringify({ environment: 'dev', dry_run: true, migrations: [{ name: '20260101000000_warm', sql: 'SELECT 1;' }] }))
  t.equal(polled.status, 202)
  const pollId = polled.json.id as string
  await until(async () => (await statusesOf([pollId]))[0] === 'succeeded' ? true : undefined, 'the warm-up dry run', 120_000)

  // Bodies built before measuring: the client's own work is not the server's latency.
  const huge = JSON.stringify({ environment: 'dev', dry_run: true, migrations: [{ name: '20260101000001_huge', sql: statements(200_000) }] })
  const nested = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`
  const large = (n: number): string => JSON.stringify({ environment: 'dev', dry_run: true, migrations: [{ name: `2026010100001${n}_large`, sql: statements(5_000) }] })
  t.comment(`bodies: ${(huge.length / 1e6).toFixed(1)} MB with 200,000 statements, ${(nested.length / 1e6).toFixed(1)} MB nested 10^6 deep, ${(large(0).length / 1e3).toFixed(0)} kB with 5,000 statements`)

  // Latency until the answer (or the error): a request that fails counts with what it waited, and as an error.
  const samples: Record<Kind, number[]> = { healthz: [], poll: [] }
  const errors: Record<Kind, string[]> = { healthz: [], poll: [] }
  const inFlight: Array<Promise<void>> = []
  let tick = 0
  const sampler = setInterval(() => {
    const kind: Kind = tick++ % 2 === 0 ? 'healthz' : 'poll'
    const started = performance.now()
    const url = kind === 'healthz' ? `${base}/healthz` : `${base}/deployments/${pollId}`
    inFlight.push(fetch(url, { headers: headers('viewer') }).then(async (response) => {
      await response.arrayBuffer()
      if (response.status !== 200) errors[kind].push(`HTTP ${response.status}`)
    }, (error: Error) => { errors[kind].push(String((error.cause as Error | undefined)?.message ?? error.message)) }).finally(() => {
      samples[kind].push(performance.now() - started)
    }))
  }, SAMPLE_EVERY_MS)

  // The machine's own noise: the same requests, before anything hostile arrives.
  await scrapeLoopDelay()
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
  const quiet = { healthz: samples.healthz.splice(0), poll: samples.poll.splice(0) }
  t.comment(`the server's event loop before the flood: delay ${await scrapeLoopDelay()}`)

  const floodStarted = performance.now()
  const floodTick = tick
  const [hugeAnswers, nestedAnswers, largeAnswers, other] = await Promise.all([
    Promise.all([0, 1, 2].map(async () => await post('ci-bot', huge))),
    Promise.all([0, 1].map(async () => await post('ci-bot', nested))),
    Promise.all([0, 1].map(async (n) => await post('ci-bot', large(n)))),
    // Another user's real deployment, with its health checks, during the flood.
    post('carol', JSON.stringify({ environment: 'staging' }))
  ])
  const accepted = [...hugeAnswers, ...largeAnswers, other].filter((answer) => answer.status === 202).map((answer) => answer.json.id as string)
  // Today's code takes minutes here: measure for at most 90 s.
  const deadline = Date.now() + 90_000
  await until(async () => (await statusesOf(accepted)).every((status) => TERMINAL.includes(status)) || Date.now() > deadline ? true : undefined, 'the flood\'s deployments to finish', 120_000, 200)
  // A fast machine ends the flood in a second or two: keep measuring until FLOOD_SAMPLES were sent.
  // Counted, not timed: on a loaded machine this process's own timer fires late and less often.
  await until(() => tick - floodTick >= FLOOD_SAMPLES ? true : undefined, `${FLOOD_SAMPLES} samples since the flood began`, 120_000, SAMPLE_EVERY_MS)
  clearInterval(sampler)
  await Promise.all(inFlight)
  const seconds = (performance.now() - floodStarted) / 1000
  t.comment(`the server's event loop during the flood: delay ${await scrapeLoopDelay()}`)

  for (const answer of hugeAnswers) {
    t.equal(answer.status, 422, `200,000 statements: refused in the request (${JSON.stringify(answer.json).slice(0, 160)})`)
    t.equal(answer.json.error?.code, 'MIGRATION_TOO_LARGE')
  }
  for (const answer of nestedAnswers) {
    t.equal(answer.status, 400, 'nested 10^6 deep: 400')
    t.equal(answer.json.error?.code, 'JSON_TOO_DEEP')
  }
  t.same(largeAnswers.map((answer) => answer.status), [202, 202], '5,000 statements: accepted')
  t.same(await statusesOf(largeAnswers.map((answer) => String(answer.json.id))), ['succeeded', 'succeeded'], 'and planned (on the analysis thread)')
  t.equal(other.status, 202)
  const otherDeployment = await (await fetch(`${base}/deployments/${other.json.id as string}`, { headers: headers('viewer') })).json() as { status: string, report: unknown }
  t.equal(otherDeployment.status, 'succeeded', `another user's deployment, health checks included, is unaffected: ${JSON.stringify(otherDeployment.report).slice(0, 200)}`)

  const describe = (values: number[]): string => `${values.length} requests; p50 ${percentile(values, 0.5).toFixed(1)} ms, p99 ${percentile(values, 0.99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`
  for (const kind of ['healthz', 'poll'] as const) {
    t.comment(`${kind}: quiet ${describe(quiet[kind])}; flood (${seconds.toFixed(1)} s) ${describe(samples[kind])}`)
    t.same(errors[kind].slice(0, 3), [], `${kind}: every request answered 200 (${errors[kind].length} did not)`)
  }
  const flood = [...samples.healthz, ...samples.poll]
  const quietP99 = percentile([...quiet.healthz, ...quiet.poll], 0.99)
  const bound = Math.max(STALL_FLOOR_MS, GOAL_MS + NOISE_FACTOR * quietP99)
  t.ok(percentile(flood, 0.99) < bound, `p99 ${percentile(flood, 0.99).toFixed(0)} ms during the flood < the larger of ${STALL_FLOOR_MS} ms and ${GOAL_MS} ms + ${NOISE_FACTOR} × the quiet p99 of ${quietP99.toFixed(0)} ms (${bound.toFixed(0)} ms)`)
})
