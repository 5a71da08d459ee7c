/**
 * How live is GET /deployments/:id/events, and what does it cost the control database?
 * Compares the shipped design (one LISTEN connection per API process, NOTIFY from a trigger)
 * with short polling of the events table at the same number of followers.
 *
 *   set -a && . .data/services.env && set +a && npx tsx bench/event-stream-latency.ts [followers] [events]
 *
 * Loopback only; bounded in count and time; stops by itself.
 */
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { parseEventStream } from '../src/cli/client/sse-parser.js'
import { parseConfig } from '../src/config/load.js'
import { createRuntime } from '../src/process/runtime.js'
import { buildServer } from '../src/server.js'
import { insertDeployment } from '../src/store/deployments.js'
import { appendEvent, listEvents } from '../src/store/events.js'
import { createControlDatabase, databaseUrl, dropDatabase } from '../test/helpers/databases.js'

const FOLLOWERS = Number(process.argv[2] ?? 50)
const EVENTS = Number(process.argv[3] ?? 100)
const GAP_MS = 20
const POLL_MS = 1000

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))] ?? NaN
}
const summary = (values: number[]): string => `p50 ${percentile(values, 50).toFixed(1)} ms, p95 ${percentile(values, 95).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`

const controlDb = await createControlDatabase()
const TOKEN = 'bench-token'
const config = parseConfig({ environments: { dev: { database_url_env: 'UNUSED_URL' } }, auth: { tokens: [{ name: 'bench', roles: ['viewer', 'deployer'], sha256: createHash('sha256').update(TOKEN).digest('hex') }] } }, process.cwd())
const runtime = await createRuntime({ configPath: 'bench', databaseUrl: databaseUrl(controlDb), redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:56379', host: '127.0.0.1', port: 0, logLevel: 'warn', queueName: `bench-${process.pid}`, workerConcurrency: 1 }, { config, logger: pino({ level: 'warn' }) })
let queries = 0
const query = runtime.pool.query.bind(runtime.pool)
runtime.pool.query = ((...args: Parameters<typeof query>) => { queries++; return query(...args) }) as typeof runtime.pool.query
const app = await buildServer(runtime)
await app.listen({ host: '127.0.0.1', port: 0 })
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

async function newDeployment (): Promise<string> {
  const id = `dep_bench_${Math.random().toString(36).slice(2)}`
  await insertDeployment(runtime.pool, { id, operation: 'deploy-migrations', environment: 'dev', mode: 'dev', requested_by: 'bench', dry_run: false, skip_backup: false, skip_health_check: false, working_directory: null, source: null, inline_migrations: null }, { actor: 'bench', data: {} })
  return id
}

/** Appends the events; `sentAt` maps each line's text to when its INSERT was sent. */
async function emit (id: string, sentAt: Map<string, number>): Promise<void> {
  for (let i = 0; i < EVENTS; i++) {
    sentAt.set(`line ${i}`, performance.now())
    await appendEvent(runtime.pool, { deploymentId: id, type: 'log', message: `line ${i}` })
    await new Promise((resolve) => setTimeout(resolve, GAP_MS))
  }
}

// 1. LISTEN/NOTIFY: real SSE followers over HTTP.
{
  const id = await newDeployment()
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  const controllers = Array.from({ length: FOLLOWERS }, () => new AbortController())
  const ready: Array<Promise<void>> = []
  const followers = controllers.map(async (controller) => {
    const response = await fetch(`${base}/deployments/${id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` }, signal: controller.signal })
    let seen = 0
    try {
      for await (const event of parseEventStream(response.body as ReadableStream<Uint8Array>)) {
        const at = sentAt.get((JSON.parse(event.data) as { message: string }).message)
        if (at !== undefined) latencies.push(performance.now() - at)
        if (++seen >= EVENTS) break
      }
    } catch { /* aborted */ }
  })
  ready.push(new Promise((resolve) => setTimeout(resolve, 500)))
  await Promise.all(ready)
  const before = queries
  const started = performance.now()
  await emit(id, sentAt)
  await Promise.race([Promise.all(followers), new Promise((resolve) => setTimeout(resolve, 10_000))])
  const seconds = (performance.now() - started) / 1000
  for (const controller of controllers) controller.abort()
  const idleBefore = queries
  await new Promise((resolve) => setTimeout(resolve, 2000))
  console.log(`LISTEN/NOTIFY, ${FOLLOWERS} SSE followers, ${EVENTS} events ${GAP_MS} ms apart: latency ${summary(latencies)} (${latencies.length} deliveries); ${queries - before} control-DB queries in ${seconds.toFixed(1)} s (${((queries - before) / EVENTS).toFixed(1)} per event); idle: ${queries - idleBefore} queries in 2 s`)
}

// 2. Short polling at POLL_MS, the alternative: each follower reads the table on a timer.
{
  const id = await newDeployment()
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  let stop = false
  let polls = 0
  const followers = Array.from({ length: FOLLOWERS }, async (_, index) => {
    let last = 0
    await new Promise((resolve) => setTimeout(resolve, (index * POLL_MS) / FOLLOWERS))
    // eslint-disable-next-line no-unmodified-loop-condition -- `stop` is set by the main flow while followers poll
    while (!stop) {
      polls++
      for (const event of await listEvents(runtime.pool, id, last)) {
        const at = sentAt.get(event.message ?? '')
        if (at !== undefined) latencies.push(performance.now() - at)
        last = event.id
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  })
  const started = performance.now()
  await emit(id, sentAt)
  await new Promise((resolve) => setTimeout(resolve, POLL_MS + 100))
  const seconds = (performance.now() - started) / 1000
  stop = true
  await Promise.all(followers)
  console.log(`polling every ${POLL_MS} ms, ${FOLLOWERS} followers, same events: latency ${summary(latencies)}; ${polls} queries in ${seconds.toFixed(1)} s (${(polls / seconds).toFixed(0)}/s, busy or idle)`)
}

await app.close()
await runtime.close()
await dropDatabase(controlDb)
