import t from 'tap'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { sha256Hex } from '../../src/lib/checksum.js'
import { historyIdFor } from '../../src/pipeline/resume.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { createDeploymentWorker } from '../../src/worker.js'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { databaseUrl } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { slowMigrations } from './helpers/processes.js'
import { migrationStates } from './helpers/target-state.js'

// The frozen (approved) path after an interruption: the target may differ from the approved
// state only by a prefix of the plan applied by THIS deployment (its own history-row ids).
const PROTECTED = { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: { checks: ['connectivity'], timeout: '5s' } }
const MIGRATIONS = slowMigrations(6, 0)

async function approvedPlan (h: Harness, environment: string): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { body: { environment, migrations: MIGRATIONS } })
  const id = created.json().id as string
  await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  const approved = await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })
  if (approved.statusCode !== 200) throw new Error(approved.body)
  return approved.json<DeploymentResource>()
}

/** Applies `count` of the plan's migrations to the target as deployment `owner` would (its ids), or with random ids (`owner` null: by hand). */
async function applyAs (h: Harness, environment: string, owner: string | null, from: number, count: number): Promise<void> {
  const target = await prismaHandler.lock(databaseUrl(h.targets[environment] as string), { waitMs: 5000 })
  try {
    await target.apply(MIGRATIONS.slice(from, from + count).map((m) => ({ ...m, checksum: checksumOf(m.sql) })), {
      lockTimeoutMs: 0,
      statementTimeoutMs: 0,
      ...(owner === null ? {} : { historyIdFor: (m: { name: string }) => historyIdFor(owner, m.name) })
    })
  } finally {
    await target.release()
  }
}

function checksumOf (sql: string): string { return sha256Hex(Buffer.from(sql, 'utf8')) }

/** What a worker that died mid-apply leaves: the row `running` in its apply phase, the deploy step started. */
async function markInterrupted (h: Harness, id: string): Promise<void> {
  await h.runtime.pool.query(`UPDATE deployments SET status = 'running', steps = steps || '[{"name":"deploy","status":"running","started_at":"2026-01-01T00:00:00.000Z","finished_at":null,"detail":null}]'::jsonb WHERE id = $1`, [id])
}

t.test('an interrupted approved apply resumes with the remaining suffix of the plan and reports all of it', async (t) => {
  const h = await startHarness({ environments: { prod: PROTECTED }, worker: false })
  t.teardown(h.close)
  const deployment = await approvedPlan(h, 'prod')
  await markInterrupted(h, deployment.id)
  await applyAs(h, 'prod', deployment.id, 0, 3)
  await runDeploymentPhase(h.runtime.pipeline, deployment.id, 'apply')
  const done = (await h.request('GET', `/deployments/${deployment.id}`)).json<DeploymentResource>()
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  const result = (done.report as { result: { migrations_applied: number, migrations: Array<{ name: string }> } }).result
  t.equal(result.migrations_applied, 6)
  t.same(result.migrations.map((m) => m.name), MIGRATIONS.map((m) => m.name))
  t.same((await migrationStates(h.targets.prod as string, MIGRATIONS)).filter((m) => m.recorded !== 1 || !m.tableExists), [])
  const { rows } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM applied_migrations WHERE deployment_id = $1', [deployment.id])
  t.equal(rows[0]?.n, 6, 'the three applied before the interruption are recorded in the control DB too')
  t.match((await h.request('GET', `/deployments/${deployment.id}/log`)).body, /↻ Resuming: 3 migrations were applied by this deployment before it was interrupted \(kept, not reapplied\); 3 to apply now/)
})

t.test('all of the plan applied before the interruption: the resume only verifies and reports', async (t) => {
  const h = await startHarness({ environments: { prod: PROTECTED }, worker: false })
  t.teardown(h.close)
  const deployment = await approvedPlan(h, 'prod')
  await markInterrupted(h, deployment.id)
  await applyAs(h, 'prod', deployment.id, 0, 6)
  await runDeploymentPhase(h.runtime.pipeline, deployment.id, 'apply')
  const done = (await h.request('GET', `/deployments/${deployment.id}`)).json<DeploymentResource>()
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.equal((done.report as { result: { migrations_applied: number } }).result.migrations_applied, 6)
})

t.test('anything else is still stale: a prefix applied by hand, by another deployment, or a gap after our prefix', async (t) => {
  const h = await startHarness({ environments: { byhand: PROTECTED, other: PROTECTED, gap: PROTECTED }, worker: false })
  t.teardown(h.close)
  const cases: Array<{ environment: string, prepare: (id: string) => Promise<void>, applied: number }> = [
    { environment: 'byhand', prepare: async () => { await applyAs(h, 'byhand', null, 0, 2) }, applied: 0 },
    { environment: 'other', prepare: async () => { await applyAs(h, 'other', 'dep_SOMEONEELSE', 0, 2) }, applied: 0 },
    { environment: 'gap', prepare: async (id) => { await applyAs(h, 'gap', id, 0, 2); await applyAs(h, 'gap', null, 2, 1) }, applied: 2 }
  ]
  for (const scenario of cases) {
    const deployment = await approvedPlan(h, scenario.environment)
    await markInterrupted(h, deployment.id)
    await scenario.prepare(deployment.id)
    await runDeploymentPhase(h.runtime.pipeline, deployment.id, 'apply')
    const done = (await h.request('GET', `/deployments/${deployment.id}`)).json<DeploymentResource>()
    t.equal(done.status, 'failed', scenario.environment)
    const report = done.report as { error: string, result: { stale: { applied_by_this_deployment: string[] } } }
    t.match(report.error, /^plan is stale/, scenario.environment)
    t.equal(report.result.stale.applied_by_this_deployment.length, scenario.applied, `${scenario.environment}: ${scenario.applied} recognised as this deployment's`)
    const states = await migrationStates(h.targets[scenario.environment] as string, MIGRATIONS)
    t.equal(states.filter((m) => m.recorded === 1).length, scenario.environment === 'gap' ? 3 : 2, `${scenario.environment}: nothing more was applied`)
  }
})

t.test('approved plans apply in order of approval, not of creation', async (t) => {
  const h = await startHarness({ environments: { prod: PROTECTED }, worker: false })
  t.teardown(h.close)
  // Both plan the same pending set: whichever applies first succeeds, the other finds its plan stale.
  const create = async (): Promise<string> => {
    const created = await h.request('POST', '/deployments', { body: { environment: 'prod', migrations: MIGRATIONS } })
    await runDeploymentPhase(h.runtime.pipeline, created.json().id, 'plan')
    return created.json().id as string
  }
  const older = await create()
  const newer = await create()
  t.equal((await h.request('POST', `/deployments/${newer}/approve`, { as: 'alice' })).statusCode, 200)
  t.equal((await h.request('POST', `/deployments/${older}/approve`, { as: 'alice' })).statusCode, 200)
  // Only now a worker: both apply jobs are waiting, the line decides.
  const worker = createDeploymentWorker(h.runtime.pipeline, {
    queueName: h.runtime.settings.queueName,
    connection: redisConnectionOptions(h.runtime.settings.redisUrl),
    concurrency: 2
  })
  t.teardown(async () => { await worker.close() })
  t.equal((await h.waitFor(newer, ['succeeded', 'failed'])).status, 'succeeded', 'approved first, applied first')
  const olderDone = await h.waitFor(older, ['succeeded', 'failed'])
  t.equal(olderDone.status, 'failed', 'approved second: its plan is stale by then')
  t.match((olderDone.report as { error: string }).error, /^plan is stale/)
})
