import pg from 'pg'
import t from 'tap'
import { checkDrift } from '../../src/pipeline/drift-check.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { claimDeployment } from '../../src/store/deployments.js'
import { getDriftState } from '../../src/store/drift.js'
import { reconcileQueue } from '../../src/worker.js'
import { databaseUrl } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'
import { recordDeployment, rowOf } from '../helpers/pipeline-run.js'

const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }

t.test('drift watch', async (t) => {
  const h = await startHarness({ worker: false, environments: { staging: { working_directory: 'app', drift_check: { every: '15m' } } } })
  t.teardown(h.close)
  const { pipeline, pool } = h.runtime
  const target = new pg.Client({ connectionString: databaseUrl(h.targets.staging as string) })
  await target.connect()
  t.teardown(async () => { await target.end() })
  const driftEvents = async (): Promise<string[]> =>
    (await pool.query<{ type: string }>("SELECT type FROM deployment_events WHERE environment = 'staging' AND type LIKE 'drift.%' ORDER BY id")).rows.map((r) => r.type)

  const id = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
  await runDeploymentPhase(pipeline, id, 'plan')
  t.equal((await rowOf(h, id)).status, 'succeeded')
  t.match(await getDriftState(pool, 'staging'), { baseline_deployment_id: id, state: 'clean' }, 'the deployment left the baseline')

  await t.test('the repeatable check is scheduled per environment, and again after Redis lost it', async (t) => {
    await reconcileQueue(pipeline)
    const schedulers = await h.runtime.queue.getJobSchedulers()
    t.match(schedulers.find((s) => s.key === 'drift.staging'), { every: 15 * 60_000 })
    await h.runtime.queue.removeJobScheduler('drift.staging')
    await reconcileQueue(pipeline)
    t.ok((await h.runtime.queue.getJobSchedulers()).some((s) => s.key === 'drift.staging'))
  })

  await t.test('a table added by hand is detected with its name, reported once, resolved when dropped', async (t) => {
    t.match(await checkDrift(pipeline, 'staging'), { outcome: 'clean', changes: [] })
    await target.query('CREATE TABLE audit_tmp (id int)')
    const detected = await checkDrift(pipeline, 'staging')
    t.match(detected, { outcome: 'drifted', notified: 'drift.detected' })
    t.ok(detected.changes.some((c) => c.object === 'table public.audit_tmp' && c.change === 'added'), JSON.stringify(detected.changes))
    t.comment(`one drift check took ${detected.durationMs} ms`)
    const again = await checkDrift(pipeline, 'staging')
    t.equal(again.outcome, 'drifted')
    t.equal(again.notified, undefined, 'the same drift is not reported again')
    const status = (await h.request('GET', '/environments/staging/status', { as: 'viewer' })).json()
    t.match(status.drift_watch, { state: 'drifted', baseline_deployment_id: id })
    t.same(status.drift_watch.changes.map((c: { object: string }) => c.object), ['column public.audit_tmp.id', 'table public.audit_tmp'], 'env status names the objects')
    await target.query('DROP TABLE audit_tmp')
    t.match(await checkDrift(pipeline, 'staging'), { outcome: 'clean', notified: 'drift.resolved' })
    t.same(await driftEvents(), ['drift.detected', 'drift.resolved'])
  })

  await t.test('a deployment running during the check: nothing is reported', async (t) => {
    const running = await recordDeployment(h, { environment: 'staging', migrations: [widgets, { name: '20250101000001_more', sql: 'CREATE TABLE more (id int);\n' }] })
    await claimDeployment(pool, running, 'plan')
    await target.query('CREATE TABLE half_done (id int)')
    t.match(await checkDrift(pipeline, 'staging'), { outcome: 'skipped' })
    t.same(await driftEvents(), ['drift.detected', 'drift.resolved'], 'no new event')
    await target.query('DROP TABLE half_done')
  })
})
