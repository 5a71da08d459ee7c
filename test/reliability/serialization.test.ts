import t from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { serviceEnv, slowMigrations, spawnService, startProcessHarness } from './helpers/processes.js'
import { migrationStates } from './helpers/target-state.js'

const HEALTH = { checks: ['connectivity'], timeout: '5s' }
const environments = {
  // Protected: every plan is computed before anything applies, so each of the 30 uploads its
  // own migration and each approved apply really applies one (a real deploy step each).
  guarded: { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: HEALTH },
  // Unprotected: plan and apply in one job, under the environment's turn.
  open: { health_check: HEALTH }
}
const UNIQUE = slowMigrations(30)
const SHARED = slowMigrations(5)
const TERMINAL = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']

interface Interval { id: string, start: number, end: number }

/** The span of a deployment's work: its first step's start to its last step's finish. */
function workSpan (deployment: DeploymentResource): Interval {
  const starts = deployment.steps.map((s) => Date.parse(s.started_at ?? '')).filter(Number.isFinite)
  const ends = deployment.steps.map((s) => Date.parse(s.finished_at ?? '')).filter(Number.isFinite)
  return { id: deployment.id, start: Math.min(...starts), end: Math.max(...ends) }
}

function deploySpan (deployment: DeploymentResource): Interval {
  const step = deployment.steps.find((s) => s.name === 'deploy')
  if (step?.started_at == null || step.finished_at === null) throw new Error(`${deployment.id} has no finished deploy step`)
  return { id: deployment.id, start: Date.parse(step.started_at), end: Date.parse(step.finished_at) }
}

function overlaps (intervals: Interval[]): string[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start)
  const found: string[] = []
  for (let i = 1; i < sorted.length; i++) {
    const [before, after] = [sorted[i - 1] as Interval, sorted[i] as Interval]
    if (after.start < before.end) found.push(`${after.id} started ${before.end - after.start} ms before ${before.id} finished`)
  }
  return found
}

t.test('30 concurrent deployments to one environment across two worker processes: one apply at a time, in order of approval, all succeed; another environment runs alongside', async (t) => {
  const { h, config, processes } = await startProcessHarness(t, environments)
  const env = serviceEnv(h, config.file, { WORKER_CONCURRENCY: '3', RECONCILE_INTERVAL: '2s' })
  const workers = [spawnService('worker', env, processes), spawnService('worker', env, processes)]
  await Promise.all(workers.map(async (w) => { await w.ready }))

  const created = await Promise.all(UNIQUE.map(async (migration) => await h.request('POST', '/deployments', { body: { environment: 'guarded', migrations: [migration] } })))
  t.same(created.map((r) => r.statusCode), Array(30).fill(202), 'all 30 accepted')
  const ids = created.map((r) => r.json().id as string)
  const pending = await Promise.all(ids.map(async (id) => await h.waitFor(id, ['pending_approval', ...TERMINAL], 120_000)))
  t.same(pending.filter((d) => d.status !== 'pending_approval').map((d) => [d.id, d.status, d.report]), [], 'all 30 planned and waiting for approval')

  const approvals = await Promise.all(ids.map(async (id) => await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })))
  t.same(approvals.map((r) => r.statusCode), Array(30).fill(200), 'all 30 approved')
  // Meanwhile, ten deployments to another environment, unprotected (plan and apply in one job).
  const openCreated = await Promise.all(Array.from({ length: 10 }, async () => await h.request('POST', '/deployments', { body: { environment: 'open', migrations: SHARED } })))
  const openIds = openCreated.map((r) => r.json().id as string)

  const done = await Promise.all(ids.map(async (id) => await h.waitFor(id, TERMINAL, 180_000)))
  const openDone = await Promise.all(openIds.map(async (id) => await h.waitFor(id, TERMINAL, 180_000)))
  t.same(done.filter((d) => d.status !== 'succeeded').map((d) => [d.id, d.status, d.report]), [], 'all 30 succeeded')
  t.same(openDone.filter((d) => d.status !== 'succeeded').map((d) => [d.id, d.status, d.report]), [], 'all 10 in the other environment succeeded')

  const applies = done.map(deploySpan)
  t.same(overlaps(applies), [], 'no two applies (deploy steps) overlap')
  t.same(done.map((d) => (d.report as { result: { migrations_applied: number } }).result.migrations_applied), Array(30).fill(1), 'each applied its own migration')
  t.same((await migrationStates(h.targets.guarded as string, UNIQUE)).filter((m) => m.recorded !== 1 || !m.tableExists), [], 'each migration applied exactly once')
  const byTicket = async (list: string[]): Promise<string[]> => (await h.runtime.pool.query<{ id: string }>('SELECT id FROM deployments WHERE id = ANY($1) ORDER BY apply_ticket', [list])).rows.map((r) => r.id)
  t.same([...applies].sort((a, b) => a.start - b.start).map((a) => a.id), await byTicket(ids), 'applied in order of approval (the ticket each approval took)')

  const openSpans = openDone.map(workSpan)
  t.same(overlaps(openSpans), [], 'in the unprotected environment no two deployments even plan at once (the turn covers plan and apply)')
  t.same([...openSpans].sort((a, b) => a.start - b.start).map((s) => s.id), await byTicket(openIds), 'and they ran in order of request')
  const lastApply = Math.max(...applies.map((a) => a.end))
  t.ok(openSpans.every((s) => s.end < lastApply), 'the other environment did not wait behind the 30: waiting jobs are delayed, not holding worker slots')

  const logs = await Promise.all(ids.map(async (id) => (await h.request('GET', `/deployments/${id}/log`)).body))
  t.ok(logs.some((log) => /⏳ Waiting for its turn: \d+ deployments? to guarded ahead/.test(log)), 'a waiting deployment says why in its log')
})
