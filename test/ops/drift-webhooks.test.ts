import pg from 'pg'
import t from 'tap'
import { checkDrift } from '../../src/pipeline/drift-check.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { claimDeployment } from '../../src/store/deployments.js'
import { databaseUrl } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'
import { startHarnessNotifications } from '../helpers/notifications.js'
import { recordDeployment, rowOf } from '../helpers/pipeline-run.js'
import { until } from '../helpers/until.js'
import { startReceiver, WEBHOOK_SECRET } from '../helpers/webhook-receiver.js'

const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }
const watched = { working_directory: 'app', drift_check: { every: '15m' } }

t.test('drift.detected and drift.resolved reach subscribed webhooks through the outbox: signed, retried, once per new drift, never mid-deployment', async (t) => {
  const receiver = await startReceiver(1, 'drift.detected')
  t.teardown(receiver.close)
  const h = await startHarness({
    worker: false,
    environments: { staging: watched, qa: watched },
    env: { TEST_WEBHOOK_SECRET: WEBHOOK_SECRET },
    extraConfig: {
      notifications: {
        public_url: 'https://deployer.example.com',
        webhooks: [
          { url: receiver.url, secret_env: 'TEST_WEBHOOK_SECRET', events: ['drift.detected', 'drift.resolved', 'succeeded'], allow_private_addresses: true },
          // The default subscription: deployments' moments only, so it hears nothing of the drift watch.
          { url: receiver.url.replace('/hooks/deployer', '/hooks/defaults'), secret_env: 'TEST_WEBHOOK_SECRET', allow_private_addresses: true }
        ],
        retry: { attempts: 4, initial_delay: '100ms' }
      }
    }
  })
  t.teardown(h.close)
  const { pipeline, pool } = h.runtime
  const notifications = await startHarnessNotifications(t, h, { TEST_WEBHOOK_SECRET: WEBHOOK_SECRET })
  const target = new pg.Client({ connectionString: databaseUrl(h.targets.staging as string) })
  await target.connect()
  t.teardown(async () => { await target.end() })
  const qaTarget = new pg.Client({ connectionString: databaseUrl(h.targets.qa as string) })
  await qaTarget.connect()
  t.teardown(async () => { await qaTarget.end() })
  const delivered = (): Array<{ delivery: string, event: string }> => receiver.received.map((r) => ({
    delivery: String(r.headers['x-deployer-delivery']), event: String(r.headers['x-deployer-event'])
  }))
  const outbox = async (environment: string): Promise<string[]> =>
    (await pool.query<{ kind: string }>('SELECT kind FROM deployment_notifications WHERE environment = $1 ORDER BY event_id', [environment])).rows.map((r) => r.kind)

  // A deployment leaves the baseline; its `succeeded` is the first delivery (one webhook subscribes to it, the other by default).
  const id = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
  await runDeploymentPhase(pipeline, id, 'plan')
  t.equal((await rowOf(h, id)).status, 'succeeded')
  await receiver.waitFor(2)

  await target.query('CREATE TABLE audit_tmp (id int)')
  const detected = await checkDrift(pipeline, 'staging')
  t.match(detected, { outcome: 'drifted', notified: 'drift.detected' })
  t.equal((await checkDrift(pipeline, 'staging')).notified, undefined, 'the same drift again: no new event')
  // The first drift delivery is answered 500 and retried with backoff: the same signed bytes again.
  await receiver.waitFor(4)
  const drift = receiver.received.slice(2)
  t.same(drift.map((r) => [r.headers['x-deployer-event'], r.verified, r.answered]), [['drift.detected', true, 500], ['drift.detected', true, 204]])
  t.equal(drift[0]?.body, drift[1]?.body, 'a retry sends the same bytes')
  t.equal(drift[0]?.headers['x-deployer-delivery'], drift[1]?.headers['x-deployer-delivery'], 'one delivery, two attempts')
  const payload = JSON.parse(drift[1]?.body ?? '{}')
  t.match(payload, {
    event: 'drift.detected',
    deployment: null,
    environment: {
      name: 'staging',
      baseline_deployment_id: id,
      links: { status: 'https://deployer.example.com/environments/staging/status', baseline: `https://deployer.example.com/deployments/${id}` }
    }
  })
  t.same(payload.environment.changes, [{ object: 'column public.audit_tmp.id', change: 'added' }, { object: 'table public.audit_tmp', change: 'added' }], 'the objects that changed, by name')
  t.match(payload.text, /^⚠ Drift on staging: 2 objects changed outside migration-deployer: column public\.audit_tmp\.id \(added\), table public\.audit_tmp \(added\)\. Status: https:\/\/deployer\.example\.com\/environments\/staging\/status$/)

  // The metric follows the control database: the API reports what the check found.
  const drifted = (await h.request('GET', '/metrics', { as: 'viewer' })).body
  t.match(drifted, /migration_deployer_environment_drifted\{environment="staging"\} 1\n/)
  t.match(drifted, /migration_deployer_drift_detections_total\{environment="staging"\} 1\n/)

  await t.test('a deployment running during the check: no event, no outbox row, no webhook', async (t) => {
    t.match(await checkDrift(pipeline, 'qa'), { outcome: 'no_baseline' })
    const running = await recordDeployment(h, { environment: 'qa', migrations: [widgets] })
    await claimDeployment(pool, running, 'plan')
    await qaTarget.query('CREATE TABLE half_done (id int)')
    t.match(await checkDrift(pipeline, 'qa'), { outcome: 'skipped' })
    t.same(await outbox('qa'), [], 'nothing for the webhooks')
  })

  await target.query('DROP TABLE audit_tmp')
  t.match(await checkDrift(pipeline, 'staging'), { outcome: 'clean', notified: 'drift.resolved' })
  await receiver.waitFor(5)
  const resolved = receiver.received[4]
  t.equal(resolved?.headers['x-deployer-event'], 'drift.resolved')
  t.match(JSON.parse(resolved?.body ?? '{}'), { event: 'drift.resolved', environment: { name: 'staging', changes: [] }, deployment: null })
  const cleared = (await h.request('GET', '/metrics', { as: 'viewer' })).body
  t.match(cleared, /migration_deployer_environment_drifted\{environment="staging"\} 0\n/)
  t.match(cleared, /migration_deployer_drift_detections_total\{environment="staging"\} 1\n/, 'a counter: it does not go back')
  t.match(cleared, /migration_deployer_environment_drifted\{environment="qa"\} 0\n/)

  // Exactly once: one outbox row per new drift and per resolution, every row dispatched, and
  // nothing more reaches the receiver once everything queued is delivered.
  t.same(await outbox('staging'), ['drift.detected', 'drift.resolved'])
  await notifications.dispatch()
  await until(async () => {
    const counts = await notifications.queue.getJobCounts('waiting', 'active', 'delayed')
    return counts.waiting === 0 && counts.active === 0 && counts.delayed === 0 ? true : undefined
  }, 'the webhook queue drained', 30_000, 50)
  const { rows: pending } = await pool.query('SELECT 1 FROM deployment_notifications WHERE dispatched_at IS NULL')
  t.equal(pending.length, 0, 'every outbox row dispatched')
  t.same(delivered().map((d) => d.event), ['succeeded', 'succeeded', 'drift.detected', 'drift.detected', 'drift.resolved'])
  t.same(delivered().filter((d) => d.event.startsWith('drift.')).map((d) => d.delivery.split('.')[1]), ['0', '0', '0'], 'only the webhook subscribed to drift')

  // Each attempt is in the environment's audit trail.
  const { rows: audit } = await pool.query<{ data: { event: string, attempt: number, status_code: number, outcome: string } }>(
    "SELECT data FROM deployment_events WHERE environment = 'staging' AND deployment_id IS NULL AND type = 'webhook_delivery' ORDER BY id")
  t.same(audit.map((r) => [r.data.event, r.data.attempt, r.data.status_code, r.data.outcome]), [
    ['drift.detected', 1, 500, 'failed'], ['drift.detected', 2, 204, 'delivered'], ['drift.resolved', 1, 204, 'delivered']
  ])
})
