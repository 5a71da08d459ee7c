import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startHarnessNotifications } from '../helpers/notifications.js'
import { DeploymentRecorder } from '../../src/pipeline/deployment-recorder.js'
import { endDeployment } from '../../src/pipeline/end-deployment.js'
import { claimDeployment, insertDeployment } from '../../src/store/deployments.js'
import { listEvents, listLogLines } from '../../src/store/events.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { rowOf } from '../helpers/pipeline-run.js'
import { until } from '../helpers/until.js'

const SECRET = 'whsec-end-deployment'
const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }

/** A deployment row no job will run (it is never enqueued), claimed as a worker would: `running`. */
async function runningRow (h: Harness, id: string): Promise<{ deployment: Awaited<ReturnType<typeof rowOf>>, recorder: DeploymentRecorder }> {
  await insertDeployment(h.runtime.pool, {
    id,
    operation: 'deploy-migrations',
    environment: 'staging',
    mode: 'deploy',
    requested_by: 'ci-bot',
    dry_run: false,
    skip_backup: false,
    skip_health_check: false,
    working_directory: null,
    source: null,
    inline_migrations: [{ ...widgets, checksum: 'c'.repeat(64) }]
  }, { actor: 'ci-bot', data: {} })
  const deployment = await claimDeployment(h.runtime.pool, id, 'plan')
  if (deployment === undefined) throw new Error('not claimed')
  const recorder = new DeploymentRecorder(h.runtime.pool, deployment, h.runtime.logger)
  await recorder.startStep('check_pending')
  return { deployment, recorder }
}

/** deployments_finished_total{environment="staging",status="succeeded"} as this process counts it. */
async function finishedInStaging (h: Harness): Promise<number> {
  const body = (await h.request('GET', '/metrics', { as: 'viewer' })).body
  return Number(/migration_deployer_deployments_finished_total\{environment="staging",status="succeeded"\} (\d+)/.exec(body)?.[1] ?? 0)
}

async function outboxKinds (h: Harness, id: string): Promise<string[]> {
  const { rows } = await h.runtime.pool.query<{ kind: string }>('SELECT kind FROM deployment_notifications WHERE deployment_id = $1 ORDER BY event_id', [id])
  return rows.map((row) => row.kind)
}

t.test('endDeployment', async (t) => {
  const received: Array<{ event: string, id: string }> = []
  const receiver = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string, deployment: { id: string } }
      received.push({ event: body.event, id: body.deployment.id })
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => receiver.close(() => resolve())) })
  const h = await startHarness({
    env: { TEST_WEBHOOK_SECRET: SECRET },
    environments: { staging: { backup_before_migrate: true, backup: { provider: 'pg_dump', dir: t.testdir({}) }, health_check: { checks: ['connectivity'] } } },
    extraConfig: {
      notifications: {
        webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret_env: 'TEST_WEBHOOK_SECRET', events: ['succeeded', 'failed'], allow_private_addresses: true, previews: true }]
      }
    }
  })
  t.teardown(h.close)

  await t.test('writes the final status and report, the event that feeds webhooks and metrics, and the banner; the first ending wins', async (t) => {
    const { deployment, recorder } = await runningRow(h, 'dep_end_succeeded')
    const report = { status: 'success', message: 'done' }
    const summary = { migrationsApplied: 1, durationMs: 1200, backupId: null, healthy: true }
    const ended = await endDeployment({ db: h.runtime.pool, deployment, recorder }, ['running'], { status: 'succeeded', report, summary })
    t.match(ended, { status: 'succeeded', report })
    t.ok(ended?.finished_at instanceof Date)
    t.match((await listEvents(h.runtime.pool, deployment.id)).at(-2), { type: 'status_changed', actor: 'system', data: { from: 'running', to: 'succeeded' } })
    t.match((await listLogLines(h.runtime.pool, deployment.id)).at(-1), /^✅ COMPLETED: Migration Deployer\nEnvironment: staging\nMigrations Applied: 1/)
    t.same(await outboxKinds(h, deployment.id), ['succeeded'], 'one notification: the webhook and the metric')

    const late = await endDeployment({ db: h.runtime.pool, deployment, recorder }, ['running'], { status: 'failed', failure: { error: 'too late' } })
    t.equal(late, undefined, 'an ending that comes second changes nothing')
    t.equal((await rowOf(h, deployment.id)).status, 'succeeded')
    t.same(await outboxKinds(h, deployment.id), ['succeeded'])
  })

  await t.test('a failure fails the running step and ends with the error report and the FAILED banner', async (t) => {
    const { deployment, recorder } = await runningRow(h, 'dep_end_failed')
    const failure = { error: 'Migration x failed', failedMigration: 'x', migrationsAppliedBeforeFailure: ['w'], suggestions: ['fix x'] }
    const ended = await endDeployment({ db: h.runtime.pool, deployment, recorder }, ['running'], { status: 'failed', failure })
    t.match(ended, {
      status: 'failed',
      report: {
        status: 'error',
        error: 'Migration x failed',
        result: { failed_migration: 'x', migrations_applied_before_failure: 1, applied_migrations: ['w'], rollback_status: null },
        recovery: { suggestions: ['fix x'] }
      }
    })
    t.match(ended?.steps.find((s) => s.name === 'check_pending'), { status: 'failed', detail: 'Migration x failed' })
    const banner = (await listLogLines(h.runtime.pool, deployment.id)).at(-1)
    t.match(banner, /^❌ FAILED: Migration Deployer\nEnvironment: staging\nError: Migration x failed\nRecovery:\n {2}- fix x/)
  })

  await t.test('a restore dry run ends like every other deployment: status_changed, webhook, metric', async (t) => {
    await startHarnessNotifications(t, h, { TEST_WEBHOOK_SECRET: SECRET })
    const deployed = await h.request('POST', '/deployments', { body: { environment: 'staging', migrations: [widgets] } })
    const done = await h.waitFor(deployed.json().id, ['succeeded', 'failed'])
    t.equal(done.status, 'succeeded', JSON.stringify(done.report))
    const backupId = (done.report as { result: { backup_id: string } }).result.backup_id
    // Counted so far: the row ended by hand above and this deployment.
    await until(async () => await finishedInStaging(h) === 2 ? true : undefined, 'two succeeded deployments counted')

    const body = { environment: 'staging', operation: 'restore-backup', backup_id: backupId, dry_run: true }
    const created = await h.request('POST', '/deployments', { body })
    t.equal(created.statusCode, 202, created.body)
    const id = created.json().id as string
    const preview = await h.waitFor(id, ['succeeded', 'failed'])
    t.match(preview, { status: 'succeeded', report: { operation: 'restore-backup', message: 'Preview only - no changes applied' } })
    const events = await listEvents(h.runtime.pool, id)
    const ended = events.some((e) => e.type === 'status_changed' && e.data?.from === 'running' && e.data?.to === 'succeeded')
    t.ok(ended, 'the final status change is in the audit trail')
    await until(() => received.some((r) => r.id === id && r.event === 'succeeded') ? true : undefined, `the succeeded webhook of the restore dry run ${id}`)
    await until(async () => await finishedInStaging(h) === 3 ? true : undefined, 'the restore dry run counted in deployments_finished_total')
    t.pass('the restore dry run is counted among the finished deployments')
  })
})
