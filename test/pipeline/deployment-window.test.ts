import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { approveDeployment } from '../../src/pipeline/approval-actions.js'
import { openDeploymentWindow } from '../../src/pipeline/deployment-window.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { deploymentJobId } from '../../src/queue/deployment-jobs.js'
import { listEvents, listLogLines } from '../../src/store/events.js'
import { reconcileQueue } from '../../src/worker.js'
import { startHarness } from '../helpers/harness.js'
import { recordDeployment, rowOf } from '../helpers/pipeline-run.js'

const alice: Principal = { name: 'alice', roles: ['approver'] }
const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }
const gadgets = { name: '20250101000001_gadgets', sql: 'CREATE TABLE gadgets (id serial primary key);\n' }
const at = (iso: string): number => new Date(iso).getTime()

t.test('deployment windows', async (t) => {
  const h = await startHarness({
    worker: false,
    environments: {
      production: {
        working_directory: 'app',
        protected: true,
        backup_before_migrate: false,
        approval: { required_approvals: 1, roles: ['approver'], expires_after: '30d' },
        health_check: { checks: ['connectivity'], timeout: '5s' },
        windows: { timezone: 'Europe/Berlin', allow: ['Mon-Fri 09:00-17:00'] }
      },
      staging: {
        working_directory: 'app',
        windows: { timezone: 'UTC', deny: [{ from: '2026-12-04 00:00', to: '2026-12-08 12:00', reason: 'release freeze' }] }
      },
      qa: {
        working_directory: 'app',
        windows: { timezone: 'UTC', allow: ['Mon-Fri 09:00-17:00'], on_close: 'hold' }
      }
    }
  })
  t.teardown(h.close)
  const { pool, config, logger, pipeline, queue } = h.runtime
  let now = at('2026-12-04T17:00:00Z') // Friday 18:00 in Berlin
  pipeline.clock = () => now

  await t.test('approved on Friday 18:00 for Mon–Fri 09:00–17:00: waits, survives the loss of its job, starts Monday 09:00 local', async (t) => {
    const id = await recordDeployment(h, { environment: 'production', migrations: [widgets] })
    await runDeploymentPhase(pipeline, id, 'plan')
    t.equal((await rowOf(h, id)).status, 'pending_approval')
    await approveDeployment(pool, config, logger, alice, id, null)
    await runDeploymentPhase(pipeline, id, 'apply')
    const waiting = await rowOf(h, id)
    t.equal(waiting.status, 'waiting_for_window')
    t.equal(waiting.next_window_at?.toISOString(), '2026-12-07T08:00:00.000Z', 'Monday 09:00 in Berlin')
    t.ok((await listLogLines(pool, id)).some((line) => line.includes('starts by itself at 2026-12-07 09:00 Europe/Berlin')), 'the log says when, in local time')
    const resource = (await h.request('GET', `/deployments/${id}`, { as: 'viewer' })).json()
    t.match(resource, { status: 'waiting_for_window', next_window_at: '2026-12-07T08:00:00.000Z', window_override: null })

    const job = await queue.getJob(deploymentJobId(id, 'window'))
    t.equal(await job?.getState(), 'delayed')
    t.equal(job?.opts.delay, at('2026-12-07T08:00:00Z') - now, 'due when the window opens')
    // Redis loses the job: the reconciler schedules it again from the row.
    await job?.remove()
    await reconcileQueue(pipeline)
    const again = await queue.getJob(deploymentJobId(id, 'window'))
    t.equal(again?.opts.delay, at('2026-12-07T08:00:00Z') - now, 'rescheduled for the same moment')

    now = at('2026-12-07T07:59:59Z')
    t.match(await openDeploymentWindow(pipeline, id), { outcome: 'not_due', dueAt: new Date('2026-12-07T08:00:00Z') }, 'a second early: not yet')
    now = at('2026-12-07T08:00:00Z')
    t.match(await openDeploymentWindow(pipeline, id), { outcome: 'started', deployment: { status: 'queued', phase: 'apply' } })
    await runDeploymentPhase(pipeline, id, 'apply')
    t.match(await rowOf(h, id), { status: 'succeeded', next_window_at: null })
  })

  await t.test('a deny window moves the start to its end; dry runs are never held', async (t) => {
    now = at('2026-12-04T17:00:00Z')
    const id = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
    await runDeploymentPhase(pipeline, id, 'plan')
    t.match(await rowOf(h, id), { status: 'waiting_for_window', phase: 'apply', next_window_at: new Date('2026-12-08T12:00:00Z') })
    t.ok((await listLogLines(pool, id)).some((line) => /Waiting for the deployment window: inside the deny window .*release freeze/.test(line)))
    const dryRun = await recordDeployment(h, { environment: 'staging', migrations: [widgets], dry_run: true })
    await runDeploymentPhase(pipeline, dryRun, 'plan')
    t.equal((await rowOf(h, dryRun)).status, 'succeeded', 'the preview ran inside the freeze')
  })

  await t.test('override-window: admin only, with a reason; audited and sent as window.overridden', async (t) => {
    now = at('2026-12-05T10:00:00Z')
    const id = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
    await runDeploymentPhase(pipeline, id, 'plan')
    t.equal((await rowOf(h, id)).status, 'waiting_for_window')
    const url = `/deployments/${id}/override-window`
    t.equal((await h.request('POST', url, { as: 'alice', body: { reason: 'hotfix' } })).statusCode, 403, 'an approver may not')
    const noReason = await h.request('POST', url, { as: 'admin', body: {} })
    t.equal(noReason.statusCode, 400)
    t.match(noReason.json(), { error: { message: /reason is required/ } })
    t.equal((await h.request('POST', url, { as: 'admin', body: { reason: '   ' } })).statusCode, 400, 'a blank reason is no reason')
    const overridden = await h.request('POST', url, { as: 'admin', body: { reason: 'INC-4711 hotfix' } })
    t.equal(overridden.statusCode, 200, overridden.body)
    t.match(overridden.json(), { status: 'queued', window_override: { by: 'admin', reason: 'INC-4711 hotfix' } })
    t.match((await listEvents(pool, id)).find((e) => e.type === 'window_overridden'), { actor: 'admin', data: { reason: 'INC-4711 hotfix' } })
    const { rows } = await pool.query('SELECT kind FROM deployment_notifications WHERE deployment_id = $1 ORDER BY event_id', [id])
    t.same(rows.map((r) => r.kind), ['waiting_for_window', 'window.overridden'], 'both moments go to the webhook outbox')
    await runDeploymentPhase(pipeline, id, 'apply')
    t.equal((await rowOf(h, id)).status, 'succeeded', 'runs though the freeze still holds')
    t.equal((await h.request('POST', url, { as: 'admin', body: { reason: 'again' } })).statusCode, 409, 'nothing left to override')
  })

  await t.test('on_close: hold: a window closing mid-run lets the migration in flight finish and holds the rest', async (t) => {
    const open = at('2026-12-07T16:59:00Z')
    const closed = at('2026-12-07T17:00:00Z')
    // The window is read before applying and before each migration: open twice, then closed.
    let reads = 0
    pipeline.clock = () => ++reads <= 2 ? open : closed
    const id = await recordDeployment(h, { environment: 'qa', migrations: [widgets, gadgets] })
    await runDeploymentPhase(pipeline, id, 'plan')
    const held = await rowOf(h, id)
    t.match(held, { status: 'waiting_for_window', next_window_at: new Date('2026-12-08T09:00:00Z') })
    const applied = (await listEvents(pool, id)).filter((e) => e.type === 'migration_applied').map((e) => e.data?.migration)
    t.same(applied, [widgets.name], 'the first finished, the second waits')
    pipeline.clock = () => at('2026-12-08T09:00:00Z')
    t.match(await openDeploymentWindow(pipeline, id), { outcome: 'started' })
    await runDeploymentPhase(pipeline, id, 'apply')
    const done = await rowOf(h, id)
    t.equal(done.status, 'succeeded', JSON.stringify(done.report))
    t.same((await listEvents(pool, id)).filter((e) => e.type === 'migration_applied').map((e) => e.data?.migration), [widgets.name, gadgets.name])
  })
})
