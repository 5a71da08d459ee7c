import t from 'tap'
import { applyMigrations } from '../../src/pipeline/apply-phase.js'
import { planMigrations } from '../../src/pipeline/plan-phase.js'
import { DeploymentFailure } from '../../src/pipeline/deployment-failure.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'
import { claimRun, recordDeployment, rowOf } from '../helpers/pipeline-run.js'

const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }
const gadgets = { name: '20250102000000_gadgets', sql: 'CREATE TABLE gadgets (id serial primary key);\n' }

t.test('planMigrations', async (t) => {
  const h = await startHarness({ worker: false, environments: { dev: {}, staging: { health_check: { checks: ['connectivity'] } } } })
  t.teardown(h.close)

  await t.test('plans the pending migrations, saves the plan and hands it on', async (t) => {
    const run = await claimRun(h, await recordDeployment(h, { environment: 'dev', migrations: [widgets, gadgets] }))
    const outcome = await planMigrations(run)
    if (!('planned' in outcome)) return t.fail(`expected a plan, got ${JSON.stringify(outcome.ending)}`)
    t.same(outcome.planned.plan.migrations.map((m) => m.name), [widgets.name, gadgets.name])
    t.same(outcome.planned.source?.map((m) => m.name), [widgets.name, gadgets.name], 'the source goes on to an apply in the same job')
    const row = await rowOf(h, run.deployment.id)
    t.equal(row.plan?.checksum, outcome.planned.plan.checksum, 'the plan is saved on the row')
    t.same(row.source_snapshot?.map((m) => m.name), [widgets.name, gadgets.name])
    t.same(row.steps.map((s) => [s.name, s.status]), [
      ['load_configuration', 'passed'], ['validate_environment', 'passed'], ['determine_mode', 'passed'],
      ['health_check_before', 'passed'], ['check_pending', 'passed']
    ])
  })

  await t.test('a dry run ends with the preview report; nothing is applied', async (t) => {
    const run = await claimRun(h, await recordDeployment(h, { environment: 'dev', dry_run: true, migrations: [widgets] }))
    const outcome = await planMigrations(run)
    if (!('ending' in outcome)) return t.fail('a dry run must end at the plan')
    t.match(outcome.ending, { status: 'succeeded', report: { operation: 'preview-migrations', result: { pending_migrations: 1 } } })
    const [table] = await queryDatabase<{ found: boolean }>(h.targets.dev as string, 'SELECT to_regclass(\'widgets\') IS NOT NULL AS found')
    t.equal(table?.found, false)
  })

  await t.test('nothing pending ends with the no-pending report', async (t) => {
    const first = await claimRun(h, await recordDeployment(h, { environment: 'staging', migrations: [widgets] }))
    const planned = await planMigrations(first)
    if (!('planned' in planned)) return t.fail('expected a plan')
    t.equal((await applyMigrations(first, { frozen: false, planned: planned.planned })).status, 'succeeded')
    const again = await planMigrations(await claimRun(h, await recordDeployment(h, { environment: 'staging', migrations: [widgets] })))
    t.match(again, { ending: { status: 'succeeded', report: { result: { migrations_applied: 0, message: 'No pending migrations' } } } })
  })

  await t.test('a file changed after it was applied fails the plan as drift (deploy mode; the health check here only connects)', async (t) => {
    const edited = { ...widgets, sql: 'CREATE TABLE widgets (id bigserial primary key);\n' }
    const run = await claimRun(h, await recordDeployment(h, { environment: 'staging', migrations: [edited] }))
    const error = await planMigrations(run).then(() => undefined, (e: unknown) => e)
    t.type(error, DeploymentFailure)
    t.match((error as DeploymentFailure).failure.error, /^Drift detected: 20250101000000_widgets \(edited after it was applied\)/)
  })
})
