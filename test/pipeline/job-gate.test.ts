import t from 'tap'
import { enterDeploymentJob } from '../../src/pipeline/job-gate.js'
import { listEvents } from '../../src/store/events.js'
import { startHarness } from '../helpers/harness.js'
import { recordDeployment } from '../helpers/pipeline-run.js'

const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }

t.test('enterDeploymentJob', async (t) => {
  const h = await startHarness({ worker: false, environments: { staging: {} } })
  t.teardown(h.close)
  const ctx = h.runtime.pipeline
  const first = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
  const second = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
  const preview = await recordDeployment(h, { environment: 'staging', dry_run: true, migrations: [widgets] })

  const gate = await enterDeploymentJob(ctx, first, 'plan')
  let closed = false
  const leave = async (): Promise<void> => { if (gate.kind === 'run' && !closed) { closed = true; await gate.close() } }
  t.teardown(leave)
  t.match(gate, { kind: 'run', environment: 'staging', holdsTurn: true, resumed: false }, 'the first in line runs, holding the environment\'s turn')

  await t.test('the deployment\'s lease: a second copy of its job waits', async (t) => {
    t.match(await enterDeploymentJob(ctx, first, 'plan'), { kind: 'wait', reason: 'another worker is running this deployment' })
  })

  await t.test('the environment\'s line: the next deployment waits its turn, noted once in its log', async (t) => {
    for (let i = 0; i < 2; i++) {
      t.match(await enterDeploymentJob(ctx, second, 'plan'), { kind: 'wait', reason: `1 ahead in staging, ${first} first` })
    }
    const notes = (await listEvents(h.runtime.pool, second)).filter((e) => e.type === 'waiting_for_turn')
    t.equal(notes.length, 1)
    t.match(notes[0]?.message, /⏳ Waiting for its turn: 1 deployment to staging ahead/)
  })

  await t.test('a dry run never applies: it runs without a turn', async (t) => {
    const previewGate = await enterDeploymentJob(ctx, preview, 'plan')
    t.match(previewGate, { kind: 'run', holdsTurn: false })
    if (previewGate.kind === 'run') await previewGate.close()
  })

  await t.test('a job for a phase the deployment is not in runs, to find nothing to do', async (t) => {
    const wrongPhase = await enterDeploymentJob(ctx, second, 'apply')
    t.match(wrongPhase, { kind: 'run', holdsTurn: false })
    if (wrongPhase.kind === 'run') await wrongPhase.close()
  })

  await t.test('when the first leaves the line, the next one runs', async (t) => {
    await leave()
    t.equal((await h.request('POST', `/deployments/${first}/cancel`)).statusCode, 200)
    const next = await enterDeploymentJob(ctx, second, 'plan')
    t.match(next, { kind: 'run', holdsTurn: true })
    if (next.kind === 'run') await next.close()
  })
})
