import { lookup } from 'node:dns/promises'
import type dns from 'node:dns'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import t, { type Test } from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors/index.js'
import { nonPublicAddressReason } from '../../src/lib/public-address.js'
import { guardedLookup } from '../../src/notifications/guarded-lookup.js'
import { startHarnessNotifications } from '../helpers/notifications.js'
import { PROJECT_ROOT, startHarness, type Harness } from '../helpers/harness.js'

/**
 * Issue 17, finding 7: webhooks called loopback, private and link-local addresses
 * (169.254.169.254, the cloud metadata service) from inside the network, and every dry run sent
 * a `succeeded`. Addresses are refused unless a webhook allows them (at config load, and again
 * on the address a name resolves to at delivery); previews notify only webhooks that ask.
 */

const SECRET = 'whsec-address-test'

function configWith (webhook: Record<string, unknown>): () => unknown {
  return () => parseConfig({
    environments: { dev: { database_url_env: 'DEV_DATABASE_URL' } },
    notifications: { webhooks: [{ secret_env: 'HOOK_SECRET', ...webhook }] }
  }, PROJECT_ROOT)
}

async function startReceiver (host = '127.0.0.1'): Promise<{ port: number, received: IncomingHttpHeaders[], close: () => Promise<void> }> {
  const received: IncomingHttpHeaders[] = []
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => { received.push(request.headers); response.writeHead(204).end() })
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return { port: (server.address() as AddressInfo).port, received, close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) } }
}

async function startDelivering (t: Test, h: Harness): ReturnType<typeof startHarnessNotifications> {
  return await startHarnessNotifications(t, h, { TEST_WEBHOOK_SECRET: SECRET })
}

/** The deployment's webhook_delivery audit events, once there are at least `count` (bounded). */
async function auditedDeliveries (h: Harness, id: string, count: number): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const events = (await h.request('GET', `/deployments/${id}/events`)).json().events as Array<{ type: string, data: Record<string, unknown> }>
    const deliveries = events.filter((e) => e.type === 'webhook_delivery').map((e) => e.data)
    if (deliveries.length >= count) return deliveries
    if (Date.now() > deadline) throw new Error(`${id}: ${deliveries.length} webhook deliveries audited after 30 s, expected ${count}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('webhook URLs to loopback, private and link-local addresses are refused at config load unless allowed', async (t) => {
  const refused = {
    'http://169.254.169.254/latest/meta-data/': /169\.254\.169\.254 is a link-local address \(cloud metadata services live there\)/,
    'http://127.0.0.1:9/hook': /127\.0\.0\.1 is a loopback address/,
    'http://10.1.2.3/hook': /10\.1\.2\.3 is a private address/,
    'http://192.168.0.10/hook': /is a private address/,
    'https://[::1]/hook': /\[::1\] is a loopback address/,
    'http://[::ffff:127.0.0.1]/hook': /is a loopback address/,
    'http://[fd12::1]/hook': /is a private \(unique local\) address/,
    'http://0.0.0.0/hook': /is the unspecified address/,
    'http://localhost:8080/hook': /localhost is a name for the machine itself/,
    'http://ci.localhost/hook': /a name for the machine itself/,
    // The URL parser's own forms of 127.0.0.1.
    'http://2130706433/hook': /127\.0\.0\.1 is a loopback address/
  }
  for (const [url, message] of Object.entries(refused)) {
    t.throws(configWith({ url }), ConfigError, url)
    try {
      configWith({ url })()
    } catch (error) {
      t.match((error as ConfigError).problems.join('\n'), /^notifications\.webhooks\.0\.url: /, `${url}: names the path`)
      t.match((error as ConfigError).problems.join('\n'), message, `${url}: says why`)
      t.match((error as ConfigError).problems.join('\n'), /unless the webhook sets allow_private_addresses: true/, `${url}: says how to allow it`)
    }
    t.doesNotThrow(configWith({ url, allow_private_addresses: true }), `${url}: allowed explicitly`)
  }
  for (const url of ['https://hooks.slack.com/services/T000/B000/XXXX', 'https://93.184.216.34/hook', 'https://[2606:4700::1111]/hook']) {
    t.doesNotThrow(configWith({ url }), `${url}: public`)
  }
  const defaults = (configWith({ url: 'https://hooks.example.com/x' })() as { notifications: { webhooks: Array<Record<string, unknown>> } }).notifications.webhooks[0]
  t.match(defaults, { allow_private_addresses: false, previews: false }, 'both off by default')
})

t.test('at delivery, the resolved address is checked and the socket connects to that address', async (t) => {
  const answers: Record<string, dns.LookupAddress[]> = {
    'public.example': [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }],
    'rebound.example': [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
    'metadata.example': [{ address: '169.254.169.254', family: 4 }],
    'mapped.example': [{ address: '::ffff:10.0.0.1', family: 6 }]
  }
  const resolve = (
    host: string,
    _options: dns.LookupAllOptions,
    callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void
  ): void => {
    callback(null, answers[host] ?? [])
  }
  const guarded = guardedLookup(resolve)
  const ask = async (host: string, all: boolean): Promise<{ error: Error | null, address: unknown }> => await new Promise((resolve) => {
    guarded(host, { all }, (error, address) => { resolve({ error, address }) })
  })
  t.same(await ask('public.example', true), { error: null, address: answers['public.example'] }, 'all: every checked address')
  t.same(await ask('public.example', false), { error: null, address: '93.184.216.34' }, 'one: the first checked address')
  for (const [host, reason] of [['rebound.example', /rebound\.example resolves to 127\.0\.0\.1, which is a loopback address: refused; set allow_private_addresses: true on the webhook to allow it/], ['metadata.example', /169\.254\.169\.254, which is a link-local address/], ['mapped.example', /::ffff:10\.0\.0\.1, which is a private address/]] as const) {
    const { error } = await ask(host, true)
    t.match(error?.message, reason, host)
  }
  t.equal(nonPublicAddressReason('8.8.8.8'), undefined)
  t.equal(nonPublicAddressReason('100.64.1.1'), 'a carrier-grade NAT address')
  t.equal(nonPublicAddressReason('64:ff9b::7f00:1'), 'a reserved address (rfc6052)', 'NAT64 can reach private IPv4')
})

// A name that is not an address and not localhost, yet resolves to this machine (through /etc/hosts, usually).
const name = hostname()
const resolved = await lookup(name).catch(() => undefined)
const privateName = resolved !== undefined && nonPublicAddressReason(resolved.address) !== undefined

t.test('a webhook host whose name resolves to loopback is refused at delivery and never called', { skip: privateName ? false : `this machine's name (${name}) does not resolve to a private address here` }, async (t) => {
  if (resolved === undefined) return
  const receiver = await startReceiver(resolved.address)
  t.teardown(receiver.close)
  const h = await startHarness({
    env: { TEST_WEBHOOK_SECRET: SECRET },
    // Passes the config check (a name, not an address): only resolving it shows where it points.
    extraConfig: { notifications: { webhooks: [{ url: `http://${name}:${receiver.port}/hook`, secret_env: 'TEST_WEBHOOK_SECRET', events: ['pending_approval'] }], retry: { attempts: 3, initial_delay: '100ms' } } }
  })
  t.teardown(h.close)
  await startDelivering(t, h)

  const id = (await h.request('POST', '/deployments', { body: { environment: 'production' } })).json().id as string
  await h.waitFor(id, ['pending_approval'])
  const [delivery] = await auditedDeliveries(h, id, 1)
  t.match(delivery, { event: 'pending_approval', attempt: 1, status_code: null, outcome: 'gave_up' }, 'refused once, not retried')
  t.match(delivery?.error, new RegExp(`^${name} resolves to ${resolved.address.replace(/\./g, '\\.')}, which is a loopback address: refused`))
  t.equal(receiver.received.length, 0, 'the receiver was never called')
})

t.test('dry runs notify only webhooks that set previews: true', async (t) => {
  const quiet = await startReceiver()
  const previews = await startReceiver()
  t.teardown(quiet.close)
  t.teardown(previews.close)
  const hook = (port: number, extra: Record<string, unknown>): Record<string, unknown> => ({ url: `http://127.0.0.1:${port}/hook`, secret_env: 'TEST_WEBHOOK_SECRET', events: ['succeeded'], allow_private_addresses: true, ...extra })
  const h = await startHarness({
    env: { TEST_WEBHOOK_SECRET: SECRET },
    extraConfig: { notifications: { webhooks: [hook(quiet.port, {}), hook(previews.port, { previews: true })] } }
  })
  t.teardown(h.close)
  const notifications = await startDelivering(t, h)

  const dryRun = (await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true } })).json().id as string
  await h.waitFor(dryRun, ['succeeded'])
  const [delivered] = await auditedDeliveries(h, dryRun, 1)
  t.match(delivered, { event: 'succeeded', webhook: 1, outcome: 'delivered' }, 'the webhook with previews: true heard of the dry run')
  // Both deliveries would have been queued by the same dispatch: the quiet one never was.
  const { rows: [notification] } = await h.runtime.pool.query<{ event_id: number }>("SELECT event_id FROM deployment_notifications WHERE deployment_id = $1 AND kind = 'succeeded'", [dryRun])
  t.equal(await notifications.queue.getJob(`delivery.${notification?.event_id ?? 0}.0`), undefined, 'no delivery was queued for the webhook without previews')
  t.equal(quiet.received.length, 0)
  t.equal(previews.received.length, 1)

  const real = (await h.request('POST', '/deployments', { body: { environment: 'dev' } })).json().id as string
  await h.waitFor(real, ['succeeded'])
  const deliveries = await auditedDeliveries(h, real, 2)
  t.same(deliveries.map((d) => d.webhook).sort(), [0, 1], 'a real deployment notifies both')
})
