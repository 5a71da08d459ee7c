import { pathToFileURL } from 'node:url'
import path from 'node:path'
import t from 'tap'
import { deploymentJobId } from '../../src/queue/deployment-jobs.js'
import { tokenOf } from '../helpers/harness.js'
import { until } from '../helpers/until.js'
import { freePort, serviceEnv, slowMigrations, spawnService, startProcessHarness, type ServiceProcess } from './helpers/processes.js'
import { migrationStates } from './helpers/target-state.js'

const HOUR = 3_600_000
/** `2026-12-02 08:00` in UTC, the format of a deny window's ends. */
const minuteOf = (ms: number): string => new Date(Math.floor(ms / 60_000) * 60_000).toISOString().slice(0, 16).replace('T', ' ')
const SHIFTED_CLOCK = pathToFileURL(path.join(import.meta.dirname, 'helpers/shifted-clock.mjs')).href
const MIGRATIONS = slowMigrations(1, 0)

t.test('a deployment waiting for its window survives a restart of every process, and starts when the window opens', async (t) => {
  // A freeze from an hour ago until two hours from now, on the real clock of the processes.
  const freezeEnds = Date.now() + 2 * HOUR
  const environments = {
    frozen: {
      working_directory: 'app',
      health_check: { checks: ['connectivity'], timeout: '5s' },
      windows: { timezone: 'UTC', deny: [{ from: minuteOf(Date.now() - HOUR), to: minuteOf(freezeEnds), reason: 'release freeze' }] }
    }
  }
  const { h, config, processes } = await startProcessHarness(t, environments)
  const env = serviceEnv(h, config.file, { RECONCILE_INTERVAL: '1s', WORKER_CONCURRENCY: '2' })
  const start = async (role: 'serve' | 'worker', extra: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> => {
    const service = spawnService(role, { ...env, ...(role === 'serve' ? { PORT: String(await freePort()) } : {}), ...extra }, processes)
    await service.ready
    return service
  }
  const api = async (service: ServiceProcess, method: string, url: string, body?: unknown): Promise<{ status: number, json: any }> => {
    const response = await fetch(`${service.url as string}${url}`, {
      method,
      headers: { authorization: `Bearer ${tokenOf('ci-bot')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: response.status, json: await response.json() }
  }
  const snapshot = async (id: string): Promise<unknown> => {
    const { rows } = await h.runtime.pool.query('SELECT status, phase, next_window_at, updated_at, (SELECT count(*)::int FROM deployment_events e WHERE e.deployment_id = d.id) AS events FROM deployments d WHERE id = $1', [id])
    const job = await h.runtime.queue.getJob(deploymentJobId(id, 'window'))
    return { row: rows[0], job: job === undefined ? null : { state: await job.getState(), due: job.timestamp + (job.opts.delay ?? 0) } }
  }

  let server = await start('serve')
  let worker = await start('worker')
  const created = await api(server, 'POST', '/deployments', { environment: 'frozen', migrations: MIGRATIONS })
  t.equal(created.status, 202, 'created through the API process')
  const id = created.json.id as string
  const waiting = await h.waitFor(id, ['waiting_for_window', 'succeeded', 'failed'], 60_000)
  t.equal(waiting.status, 'waiting_for_window')
  const nextWindowAt = waiting.next_window_at as string
  t.equal(nextWindowAt, new Date(Math.floor(freezeEnds / 60_000) * 60_000).toISOString(), 'the freeze\'s end')
  // The row says waiting a moment before its delayed job is added, and the job that planned it
  // ends after that: wait for both, so the restart below hits a deployment that only waits (a
  // worker killed while still finishing that job is crash-resume's case, and records its resume).
  const before = await until(async () => {
    const s = await snapshot(id) as { job: { due: number } | null }
    const planJob = await h.runtime.queue.getJob(deploymentJobId(id, 'plan'))
    return s.job === null || planJob !== undefined ? undefined : s
  }, 'the window job, and the planning job done', 30_000, 50)
  const due = (before as { job: { state: string, due: number } }).job
  t.equal(due.state, 'delayed')
  // The delay is computed a moment before BullMQ stamps the job: due at the opening or a few ms after, never before.
  t.ok(due.due >= Date.parse(nextWindowAt) && due.due < Date.parse(nextWindowAt) + 5_000, `a delayed job due when the window opens (${due.due - Date.parse(nextWindowAt)} ms after)`)

  // Every process dies at once and comes back: the row, the job and the target are as they were.
  server.kill('SIGKILL')
  worker.kill('SIGKILL')
  await Promise.all([server.exited, worker.exited])
  server = await start('serve')
  worker = await start('worker')
  const read = await api(server, 'GET', `/deployments/${id}`)
  t.match(read.json, { status: 'waiting_for_window', next_window_at: nextWindowAt }, 'the new API process shows it waiting')
  t.same(await snapshot(id), before, 'the row, its events and its delayed job are unchanged')
  t.same((await migrationStates(h.targets.frozen as string, MIGRATIONS)).map((m) => m.tableExists), [false], 'nothing applied')

  // The worker comes back once more, with its clock past the window's opening: the delayed job is
  // due, and the deployment starts by itself.
  worker.kill('SIGTERM')
  await worker.exited
  worker = await start('worker', { NODE_OPTIONS: `--import=${SHIFTED_CLOCK}`, TEST_CLOCK_SHIFT_MS: String(Date.parse(nextWindowAt) - Date.now() + 60_000) })
  const done = await h.waitFor(id, ['succeeded', 'failed'], 60_000)
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal((await api(server, 'GET', `/deployments/${id}`)).json.next_window_at, null)
  t.same((await migrationStates(h.targets.frozen as string, MIGRATIONS)).map((m) => [m.recorded, m.tableExists]), [[1, true]], 'applied once')
  const { rows } = await h.runtime.pool.query<{ message: string }>('SELECT message FROM deployment_events WHERE deployment_id = $1 AND message LIKE $2', [id, '%Waiting for the deployment window%'])
  t.equal(rows.length, 1, 'it waited once: the restarts did not park it again')
  const lines = (await fetch(`${server.url as string}/deployments/${id}/log`, { headers: { authorization: `Bearer ${tokenOf('ci-bot')}` } }).then(async (r) => await r.text())).split('\n')
  t.ok(lines.some((line) => line.startsWith('▶ The deployment window is open: starting')), 'the log says it started because the window opened')
})
