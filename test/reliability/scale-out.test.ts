import t from 'tap'
import { tokenOf, type TokenName } from '../helpers/harness.js'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { until } from '../helpers/until.js'
import { serviceEnv, slowMigrations, spawnService, freePort, startProcessHarness } from './helpers/processes.js'
import { migrationStates } from './helpers/target-state.js'

const HEALTH = { checks: ['connectivity'], timeout: '5s' }
const environments = {
  staging: { health_check: HEALTH },
  production: { protected: true, backup_before_migrate: false, approval: { required_approvals: 1, roles: ['approver'] }, health_check: HEALTH }
}
const MIGRATIONS = slowMigrations(8, 0.02)
const TERMINAL = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']

t.test('two API and two worker processes on one Redis and one control DB behave like one of each', async (t) => {
  const { h, config, processes } = await startProcessHarness(t, environments)
  const apis = await Promise.all([0, 1].map(async () => spawnService('serve', serviceEnv(h, config.file, { PORT: String(await freePort()) }), processes)))
  const workers = [0, 1].map(() => spawnService('worker', serviceEnv(h, config.file, { RECONCILE_INTERVAL: '1s' }), processes))
  await Promise.all([...apis, ...workers].map(async (p) => { await p.ready }))
  const [api1, api2] = apis.map((api) => api.url as string) as [string, string]

  const call = async (
    base: string,
    method: string,
    url: string,
    options: { as?: TokenName; body?: unknown; key?: string } = {}
  ): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${tokenOf(options.as ?? 'ci-bot')}` }
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    if (options.key !== undefined) headers['idempotency-key'] = options.key
    const response = await fetch(`${base}${url}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
    return { status: response.status, body: await response.json() }
  }
  const waitFor = async (base: string, id: string, statuses: string[]): Promise<DeploymentResource> =>
    await until(async () => { const r = await call(base, 'GET', `/deployments/${id}`); return statuses.includes(r.body.status) ? r.body as DeploymentResource : undefined }, `${id} to be ${statuses.join('|')}`, 120_000, 50)

  // The same request through both APIs at once, with one Idempotency-Key: one deployment.
  const body = { environment: 'staging', migrations: MIGRATIONS }
  const pair = await Promise.all([call(api1, 'POST', '/deployments', { body, key: 'scale-1' }), call(api2, 'POST', '/deployments', { body, key: 'scale-1' })])
  t.same(pair.map((r) => r.status).sort(), [200, 202], 'one created, one replayed')
  t.equal(pair[0].body.id, pair[1].body.id)
  const stagingId = pair[0].body.id as string

  // Several more, spread over both APIs, to both environments.
  const more = await Promise.all([api1, api2, api1, api2].map(async (base) => await call(base, 'POST', '/deployments', { body })))
  const prod = await call(api2, 'POST', '/deployments', { body: { environment: 'production', migrations: MIGRATIONS } })
  t.same([...more.map((r) => r.status), prod.status], [202, 202, 202, 202, 202])
  const pending = await waitFor(api1, prod.body.id, ['pending_approval', ...TERMINAL])
  t.equal(pending.status, 'pending_approval', 'planned by whichever worker, read through the other API')
  t.equal((await call(api1, 'POST', `/deployments/${prod.body.id as string}/approve`, { as: 'alice' })).status, 200)
  t.equal((await call(api2, 'POST', `/deployments/${prod.body.id as string}/approve`, { as: 'bob' })).status, 409, 'the other API sees it is no longer pending')

  const ids = [stagingId, ...more.map((r) => r.body.id as string), prod.body.id as string]
  const done = await Promise.all(ids.map(async (id, i) => await waitFor(i % 2 === 0 ? api2 : api1, id, TERMINAL)))
  t.same(done.map((d) => d.status), Array(ids.length).fill('succeeded'))
  const appliedCounts = done.slice(0, 5).map((d) => (d.report as { result: { migrations_applied: number } }).result.migrations_applied).sort()
  t.same(appliedCounts, [0, 0, 0, 0, 8], 'in staging the first applied all eight, the others found nothing pending')
  t.equal((done[5]?.report as { result: { migrations_applied: number } }).result.migrations_applied, 8)
  for (const environment of ['staging', 'production']) {
    t.same((await migrationStates(h.targets[environment] as string, MIGRATIONS)).filter((m) => m.recorded !== 1 || !m.tableExists), [], `${environment}: each migration applied exactly once`)
  }
  // Each phase ran once: one start banner and one completion per deployment, no duplicate lines.
  for (const id of ids) {
    const log = await fetch(`${api1}/deployments/${id}/log`, { headers: { authorization: `Bearer ${tokenOf('viewer')}` } }).then(async (r) => await r.text())
    t.equal(log.split('🎯 STARTING').length - 1, 1, `${id}: one start`)
    t.equal(log.split('✅ COMPLETED').length - 1, 1, `${id}: one completion`)
    t.notMatch(log, /↻/, `${id}: never resumed: nothing was interrupted`)
  }
  for (const process of processes) t.notOk(process.lines.some((line) => /"level":50/.test(line) && !/could not enqueue/.test(line)), `${process.role} ${process.pid} logged no errors`)
})
