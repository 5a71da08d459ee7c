import t from 'tap'
import { createDeploymentWorker } from '../../src/worker.js'
import { startHarness, type Harness, type TokenName } from '../helpers/harness.js'

/**
 * Issue 17, finding 5: cheap dry runs must not starve real deployments. 600 dry runs (within the
 * rate limit) delayed an approved production deployment by 74 s: previews now wait behind real
 * deployments in the queue, and each token may have only so many deployments queued or running.
 */

const TERMINAL = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']

function startWorker (h: Harness, concurrency: number): ReturnType<typeof createDeploymentWorker> {
  const settings = h.runtime.settings
  return createDeploymentWorker(h.runtime.pipeline, { queueName: settings.queueName, redis: h.runtime.redisConnections.queue(settings.queueName), concurrency })
}

async function dryRun (
  h: Harness,
  as: TokenName,
  headers: Record<string, string> = {}
): Promise<{ statusCode: number; json: any; headers: Record<string, unknown> }> {
  const response = await h.request('POST', '/deployments', { as, headers, body: { environment: 'dev', dry_run: true } })
  return { statusCode: response.statusCode, json: response.json(), headers: response.headers }
}

t.test('an approved production deployment is picked before a backlog of dry runs', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)

  // Plan production (it stops for approval), then no worker runs while the backlog builds up.
  const planner = startWorker(h, 1)
  const production = (await h.request('POST', '/deployments', { body: { environment: 'production' } })).json().id as string
  await h.waitFor(production, ['pending_approval'])
  await planner.close()

  const backlog: string[] = []
  for (const as of ['ci-bot', 'carol'] as const) {
    for (let i = 0; i < 15; i++) {
      const created = await dryRun(h, as)
      t.equal(created.statusCode, 202)
      backlog.push(created.json.id as string)
    }
  }
  t.equal((await h.request('POST', `/deployments/${production}/approve`, { as: 'alice' })).statusCode, 200)

  // One worker slot: whatever it takes first shows the queue's order.
  const worker = startWorker(h, 1)
  t.teardown(async () => { await worker.close() })
  const done = await h.waitFor(production, ['succeeded', 'failed'], 120_000)
  t.equal(done.status, 'succeeded')
  const applyStarted = new Date(done.steps.find((step) => step.name === 'deploy')?.started_at ?? 0).getTime()
  const { rows } = await h.runtime.pool.query<{ finished_at: Date | null }>('SELECT finished_at FROM deployments WHERE id = ANY($1)', [backlog])
  const finishedBefore = rows.filter((row) => row.finished_at !== null && row.finished_at.getTime() < applyStarted).length
  t.equal(finishedBefore, 0, `no dry run of the backlog of ${backlog.length} ran before the approved deployment (${finishedBefore} did)`)
})

t.test('a token past limits.queued_per_token gets a 429 until some of its deployments finish', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const LIMIT = h.config.limits.queued_per_token
  t.equal(LIMIT, 20, 'the default')

  const first: string[] = []
  for (let i = 0; i < LIMIT; i++) {
    const created = await dryRun(h, 'ci-bot')
    t.equal(created.statusCode, 202, `dry run ${i + 1} of ${LIMIT}`)
    first.push(created.json.id as string)
  }
  const refused = await dryRun(h, 'ci-bot')
  t.equal(refused.statusCode, 429, 'one more: 429')
  t.equal(refused.json.error.code, 'TOO_MANY_QUEUED')
  t.match(refused.json.error.message, /^token ci-bot already has 20 deployments queued or running, the most one token may have \(limits\.queued_per_token\): retry once some have finished/)
  t.same(refused.json.error.details, { queued: 20, limit: 20, retry_after_seconds: 10 })
  t.equal(refused.headers['retry-after'], '10')
  t.equal((await dryRun(h, 'ci-bot', { 'idempotency-key': 'quota-1' })).statusCode, 429, 'with an Idempotency-Key too')
  const { rows: [count] } = await h.runtime.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deployments WHERE requested_by = 'ci-bot'")
  t.equal(count?.n, LIMIT, 'nothing more was recorded')
  t.equal((await dryRun(h, 'carol')).statusCode, 202, 'another token is not affected')

  // A burst of concurrent requests (one statement records them together) admits exactly the limit.
  const burst = await Promise.all(Array.from({ length: LIMIT + 10 }, async () => await dryRun(h, 'admin')))
  t.same(burst.map((r) => r.statusCode).sort(), [...Array(LIMIT).fill(202), ...Array(10).fill(429)], `a burst of ${LIMIT + 10}: ${LIMIT} admitted, 10 refused`)

  // Work finishing frees the token's room again.
  const worker = startWorker(h, 2)
  t.teardown(async () => { await worker.close() })
  await h.waitFor(first[0] as string, TERMINAL)
  t.equal((await dryRun(h, 'ci-bot')).statusCode, 202, 'accepted again once one has finished')
})
