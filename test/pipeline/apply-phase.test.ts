import t from 'tap'
import { applyMigrations } from '../../src/pipeline/apply-phase.js'
import { DeploymentFailure } from '../../src/pipeline/deployment-failure.js'
import { planMigrations } from '../../src/pipeline/plan-phase.js'
import type { DeploymentRun } from '../../src/pipeline/deployment-run.js'
import type { Planned } from '../../src/pipeline/operation.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { claimRun, recordDeployment, rowOf } from '../helpers/pipeline-run.js'

const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }
const gadgets = { name: '20250102000000_gadgets', sql: 'CREATE TABLE gadgets (id serial primary key);\n' }
const broken = { name: '20250103000000_broken', sql: 'INSERT INTO no_such_table VALUES (1);\n' }

async function planned (h: Harness, body: Record<string, unknown>): Promise<{ run: DeploymentRun, planned: Planned }> {
  const run = await claimRun(h, await recordDeployment(h, body))
  const outcome = await planMigrations(run)
  if (!('planned' in outcome)) throw new Error(`expected a plan: ${JSON.stringify(outcome.ending)}`)
  return { run, planned: outcome.planned }
}

async function historyOf (h: Harness, environment: string): Promise<string[]> {
  const sql = 'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY started_at, migration_name'
  const rows = await queryDatabase<{ migration_name: string }>(h.targets[environment] as string, sql)
  return rows.map((row) => row.migration_name)
}

t.test('applyMigrations', async (t) => {
  const h = await startHarness({ worker: false, environments: { staging: { health_check: { checks: ['connectivity'] } }, qa: {} } })
  t.teardown(h.close)

  await t.test('applies the plan under the lock, checks health, verifies, and returns the success ending', async (t) => {
    const { run, planned: plan } = await planned(h, { environment: 'staging', migrations: [widgets] })
    const ending = await applyMigrations(run, { frozen: false, planned: plan })
    const result = {
      migrations_applied: 1, migrations: [{ name: widgets.name, status: 'applied' }], health_check_before: 'passed', health_check_after: 'passed'
    }
    t.match(ending, { status: 'succeeded', report: { status: 'success', result }, summary: { migrationsApplied: 1 } })
    t.same(await historyOf(h, 'staging'), [widgets.name])
    t.same(run.recorder.steps.filter((s) => ['deploy', 'health_check_after', 'verify'].includes(s.name)).map((s) => s.status), ['passed', 'passed', 'passed'])
    t.equal((await rowOf(h, run.deployment.id)).status, 'running', 'ending it is the pipeline\'s, not the phase\'s')
  })

  await t.test('a frozen plan whose target moved on fails as stale and applies nothing', async (t) => {
    const { run } = await planned(h, { environment: 'staging', migrations: [widgets, gadgets] })
    // Another deployment applies gadgets first: the approved pending set no longer holds.
    const { run: other, planned: otherPlan } = await planned(h, { environment: 'staging', migrations: [widgets, gadgets] })
    await applyMigrations(other, { frozen: false, planned: otherPlan })
    const error = await applyMigrations(run, { frozen: true }).then(() => undefined, (e: unknown) => e)
    t.type(error, DeploymentFailure)
    t.match((error as DeploymentFailure).failure.error, /^plan is stale/)
    t.equal(run.recorder.steps.find((s) => s.name === 'deploy')?.status, 'failed')
    t.same(await historyOf(h, 'staging'), [widgets.name, gadgets.name], 'nothing more was applied')
  })

  await t.test('a failing migration fails with the count and names applied before it', async (t) => {
    const { run, planned: plan } = await planned(h, { environment: 'qa', migrations: [widgets, gadgets, broken] })
    const error = await applyMigrations(run, { frozen: false, planned: plan }).then(() => undefined, (e: unknown) => e)
    t.type(error, DeploymentFailure)
    const failure = { error: `Migration ${broken.name} failed`, failedMigration: broken.name, migrationsAppliedBeforeFailure: [widgets.name, gadgets.name] }
    t.match((error as DeploymentFailure).failure, failure)
    t.same(await historyOf(h, 'qa'), [widgets.name, gadgets.name], 'each migration commits with its history row: the two before stay')
  })
})
