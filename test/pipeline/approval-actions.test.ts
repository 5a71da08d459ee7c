import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { approveDeployment, cancelDeployment, rejectDeployment } from '../../src/pipeline/approval-actions.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { listEvents, listLogLines } from '../../src/store/events.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { recordDeployment, rowOf } from '../helpers/pipeline-run.js'

const alice: Principal = { name: 'alice', roles: ['approver'] }
const ciBot: Principal = { name: 'ci-bot', roles: ['deployer'] }
const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }

/** A production deployment planned and waiting for approval (its plan phase run here, no worker). */
async function pendingApproval (h: Harness): Promise<string> {
  const id = await recordDeployment(h, { environment: 'production', migrations: [widgets] })
  await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  const row = await rowOf(h, id)
  if (row.status !== 'pending_approval') throw new Error(`expected pending_approval, got ${row.status}: ${JSON.stringify(row.report)}`)
  return id
}

/** The approval window closed a moment ago, and its expiry job has not run yet. */
async function windowClosed (h: Harness, id: string): Promise<void> {
  await h.runtime.pool.query('UPDATE deployments SET expires_at = now() - interval \'1 second\' WHERE id = $1', [id])
}

t.test('approval actions', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const { pool, config, logger } = h.runtime

  await t.test('approve: not by the requester; enough approvals put it back in line for apply', async (t) => {
    const id = await pendingApproval(h)
    await t.rejects(approveDeployment(pool, config, logger, { name: 'ci-bot', roles: ['approver'] }, id, null), { code: 'FORBIDDEN' })
    const approved = await approveDeployment(pool, config, logger, alice, id, 'LGTM')
    t.match(approved, { released: true, deployment: { status: 'queued', phase: 'apply' } })
  })

  await t.test('reject ends it as rejected, in the one ending: report, event, banner', async (t) => {
    const id = await pendingApproval(h)
    const rejected = await rejectDeployment(pool, config, logger, alice, id, 'not today')
    t.match(rejected, { status: 'rejected', report: { status: 'error', error: 'Rejected by alice: not today' } })
    const event = (await listEvents(pool, id)).find((e) => e.type === 'rejected')
    t.match(event, { actor: 'alice', data: { from: 'pending_approval', to: 'rejected', reason: 'not today' } })
    t.match((await listLogLines(pool, id)).at(-1), /^⛔ REJECTED: Migration Deployer/)
  })

  await t.test('reject after the window closed: the deployment expires instead, and the rejection is refused', async (t) => {
    const id = await pendingApproval(h)
    await windowClosed(h, id)
    await t.rejects(rejectDeployment(pool, config, logger, alice, id, 'too late'), { code: 'NOT_PENDING_APPROVAL', statusCode: 409 })
    t.equal((await rowOf(h, id)).status, 'expired')
    t.ok((await listEvents(pool, id)).some((e) => e.type === 'status_changed' && e.data?.to === 'expired'), 'the expiry is recorded')
    t.notOk((await listEvents(pool, id)).some((e) => e.type === 'rejected'))
  })

  await t.test('cancel after the window closed: the deployment expires instead, and the cancel is refused', async (t) => {
    const id = await pendingApproval(h)
    await windowClosed(h, id)
    await t.rejects(cancelDeployment(pool, config, logger, ciBot, id), { code: 'NOT_CANCELLABLE', statusCode: 409 })
    t.equal((await rowOf(h, id)).status, 'expired')
  })

  await t.test('cancel: only the requester (or an admin), while queued or pending', async (t) => {
    const id = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
    await t.rejects(cancelDeployment(pool, config, logger, { name: 'carol', roles: ['deployer'] }, id), { code: 'FORBIDDEN' })
    t.match(await cancelDeployment(pool, config, logger, ciBot, id), { status: 'cancelled', report: { error: 'Cancelled by ci-bot' } })
    await t.rejects(cancelDeployment(pool, config, logger, ciBot, id), { code: 'NOT_CANCELLABLE' })
  })
})
