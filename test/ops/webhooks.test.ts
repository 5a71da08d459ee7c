import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startHarnessNotifications } from '../helpers/notifications.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { until } from '../helpers/until.js'
import { startReceiver, WEBHOOK_SECRET } from '../helpers/webhook-receiver.js'

const SECRET = WEBHOOK_SECRET

/** The deployment's webhook_delivery audit events, once there are at least `count`. */
async function auditedDeliveries (h: Harness, id: string, count: number): Promise<Array<Record<string, unknown>>> {
  return await until(async () => {
    const events = (await h.request('GET', `/deployments/${id}/events`)).json().events as Array<{ type: string, data: Record<string, unknown> }>
    const deliveries = events.filter((e) => e.type === 'webhook_delivery').map((e) => e.data)
    return deliveries.length >= count ? deliveries : undefined
  }, `${count} audited webhook deliveries of ${id}`, 30_000, 50)
}

t.test('webhooks: signed JSON on pending_approval and succeeded, retried after a 500, each attempt audited', async (t) => {
  const receiver = await startReceiver(1)
  t.teardown(receiver.close)
  const h = await startHarness({
    env: { TEST_WEBHOOK_SECRET: SECRET },
    extraConfig: {
      notifications: {
        public_url: 'https://deployer.example.com',
        // The receiver listens on loopback: allowed explicitly, as an operator would.
        webhooks: [{ url: receiver.url, secret_env: 'TEST_WEBHOOK_SECRET', allow_private_addresses: true }],
        retry: { attempts: 4, initial_delay: '200ms' }
      }
    }
  })
  t.teardown(h.close)
  await startHarnessNotifications(t, h, { TEST_WEBHOOK_SECRET: SECRET })

  const created = await h.request('POST', '/deployments', { body: { environment: 'production', source: { commit: 'abc123def456' } } })
  const id = created.json().id as string
  await h.waitFor(id, ['pending_approval'])

  // The first delivery is answered 500; BullMQ retries it with backoff and the second is accepted.
  await receiver.waitFor(2)
  const [first, second] = receiver.received
  t.ok(first?.verified && second?.verified, 'both attempts carry a valid X-Deployer-Signature')
  t.equal(first?.answered, 500)
  t.equal(second?.answered, 204)
  t.equal(first?.body, second?.body, 'a retry sends the same bytes')
  t.equal(first?.headers['x-deployer-event'], 'pending_approval')
  t.equal(first?.headers['content-type'], 'application/json')
  const payload = JSON.parse(second?.body ?? '{}')
  t.equal(payload.event, 'pending_approval')
  t.equal(payload.deployment.id, id)
  t.equal(payload.deployment.environment, 'production')
  t.equal(payload.deployment.plan.pending_migrations, 5)
  t.same(payload.approval.roles, ['approver'])
  t.equal(payload.deployment.links.approve, `https://deployer.example.com/deployments/${id}/approve`)
  t.match(payload.text, new RegExp(`^⏸ Approval needed: ${id} → production, 5 migrations requested by ci-bot at abc123def456\\. Needs 1 approval from someone with the role approver \\(not ci-bot\\)\\. Review and approve: https://deployer\\.example\\.com/deployments/${id}`))

  await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })
  await h.waitFor(id, ['succeeded'])
  await receiver.waitFor(3)
  const done = receiver.received[2]
  t.ok(done?.verified)
  t.equal(done?.headers['x-deployer-event'], 'succeeded')
  t.equal(done?.answered, 204, 'delivered at the first attempt')
  t.match(JSON.parse(done?.body ?? '{}').text, /^✅ .* succeeded: Successfully applied 5 migrations to production/)

  // Every attempt is in the audit trail (written just after the receiver answered), without the
  // URL's path (webhook URLs often hold secrets).
  const deliveries = await auditedDeliveries(h, id, 3)
  t.same(deliveries.map((d) => [d.event, d.attempt, d.status_code, d.outcome]), [
    ['pending_approval', 1, 500, 'failed'],
    ['pending_approval', 2, 204, 'delivered'],
    ['succeeded', 1, 204, 'delivered']
  ])
  t.notMatch(JSON.stringify(deliveries), /hooks\/deployer/, 'the audit trail shows the host only')

  const metrics = await h.request('GET', '/metrics', { as: 'viewer' })
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /migration_deployer_deployments_finished_total\{environment="production",status="succeeded"\} 1/)
  t.match(metrics.body, /migration_deployer_migration_duration_seconds_count\{environment="production"\} 5/)
  t.match(metrics.body, /migration_deployer_pipeline_duration_seconds_count\{environment="production",status="succeeded"\} 1/)
  t.match(metrics.body, /migration_deployer_webhook_deliveries_total\{event="pending_approval",outcome="failed"\} 1/)
})

t.test('a receiver that keeps answering 4xx is given up at once, and a rejection is delivered', async (t) => {
  const received: string[] = []
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => { received.push(String(request.headers['x-deployer-event'])); response.writeHead(410).end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => resolve())) })
  const h = await startHarness({
    extraConfig: { notifications: { webhooks: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, secret_env: 'TEST_WEBHOOK_SECRET', events: ['rejected'], allow_private_addresses: true }], retry: { attempts: 5, initial_delay: '100ms' } } }
  })
  t.teardown(h.close)
  await startHarnessNotifications(t, h, { TEST_WEBHOOK_SECRET: SECRET })

  const id = (await h.request('POST', '/deployments', { body: { environment: 'production' } })).json().id as string
  await h.waitFor(id, ['pending_approval'])
  await h.request('POST', `/deployments/${id}/reject`, { as: 'bob', body: { reason: 'not now' } })
  const deliveries = await auditedDeliveries(h, id, 1)
  t.same(received, ['rejected'], 'only the subscribed event, and pending_approval was not')
  t.same(deliveries.map((d) => [d.event, d.attempt, d.status_code, d.outcome]), [['rejected', 1, 410, 'gave_up']])
})
