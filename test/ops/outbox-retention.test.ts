import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import { startNotifications } from '../../src/notifications/index.js'
import { pruneNotificationOutbox } from '../../src/store/notifications.js'
import { PROJECT_ROOT, startHarness, type Harness } from '../helpers/harness.js'
import { until } from '../helpers/until.js'

const DAY_MS = 86_400_000

interface OutboxRow { event_id: string, deployment_id: string, dispatched_at: Date | null }

async function outbox (h: Harness): Promise<OutboxRow[]> {
  return (await h.runtime.pool.query<OutboxRow>('SELECT event_id, deployment_id, dispatched_at FROM deployment_notifications ORDER BY event_id')).rows
}

async function eventCount (h: Harness): Promise<number> {
  return (await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployment_events')).rows[0]?.n ?? -1
}

/** Three deployments to dev, each leaving one `succeeded` row in the outbox (nothing dispatches them here). */
async function threeFinishedDeployments (h: Harness): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const created = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
    ids.push(created.json<{ id: string }>().id)
    await h.waitFor(ids[i] as string, ['succeeded'])
  }
  return ids
}

const ageDispatch = async (h: Harness, deploymentId: string, days: number | null): Promise<void> => {
  await h.runtime.pool.query(`UPDATE deployment_notifications SET dispatched_at = ${days === null ? 'NULL' : 'now() - make_interval(days => $2)'},
    created_at = now() - make_interval(days => 40) WHERE deployment_id = $1`, days === null ? [deploymentId] : [deploymentId, days])
}

t.test('notifications.outbox_retention: 30 days by default, any duration accepted', async (t) => {
  const base = { environments: { dev: { database_url_env: 'DEV_DATABASE_URL' } } }
  t.equal(parseConfig(base, PROJECT_ROOT).notifications.outbox_retention, 30 * DAY_MS)
  t.equal(parseConfig({ ...base, notifications: { outbox_retention: '7d' } }, PROJECT_ROOT).notifications.outbox_retention, 7 * DAY_MS)
  const vague = { ...base, notifications: { outbox_retention: 'a month' } }
  t.throws(() => parseConfig(vague, PROJECT_ROOT), { message: /notifications\.outbox_retention: expected a duration/ })
})

t.test('dispatched rows older than the retention are pruned; newer ones, undispatched ones and the audit trail stay', async (t) => {
  const h = await startHarness({ environments: { dev: { working_directory: 'app' } } })
  t.teardown(h.close)
  const [old, recent, pending] = await threeFinishedDeployments(h) as [string, string, string]
  await ageDispatch(h, old, 31)
  await ageDispatch(h, recent, 29)
  await ageDispatch(h, pending, null)
  const events = await eventCount(h)

  t.equal(await pruneNotificationOutbox(h.runtime.pool, 30 * DAY_MS), 1, 'one row pruned')
  t.same((await outbox(h)).map((row) => row.deployment_id), [recent, pending],
    'the one dispatched 31 days ago is gone; 29 days ago and undispatched (40 days old) stay')
  t.equal(await eventCount(h), events, 'no audited event is deleted')
  t.equal(await pruneNotificationOutbox(h.runtime.pool, 30 * DAY_MS), 0, 'a second run finds nothing')

  // The workers' notification service prunes by itself, at start and then hourly, with the configured retention.
  await ageDispatch(h, recent, 31)
  const notifications = await startNotifications({
    pool: h.runtime.pool,
    config: h.config,
    logger: h.runtime.logger,
    env: {},
    queueName: h.runtime.settings.queueName,
    connection: redisConnectionOptions(h.runtime.settings.redisUrl)
  })
  t.teardown(notifications.close)
  const left = await until(async () => {
    const rows = await outbox(h)
    return rows.some((row) => row.deployment_id === recent) ? undefined : rows
  }, 'the notification service to prune the row dispatched 31 days ago', 30_000, 50)
  t.same(left.map((row) => row.deployment_id), [pending], 'only the row it just dispatched is left')
  t.equal(await eventCount(h), events, 'the audit trail is whole')
})
