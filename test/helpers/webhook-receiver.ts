import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request the receiver got: its headers and body, whether its signature verified, and what it answered. */
export interface Received { headers: IncomingHttpHeaders, body: string, verified: boolean, answered: number }

/** The signing secret the receiver verifies with (the worker's webhook secret variable holds it). */
export const WEBHOOK_SECRET = 'whsec-test-9f2c1a'

export interface WebhookReceiver {
  url: string
  received: Received[]
  /** Resolves once `count` requests came in. */
  waitFor: (count: number) => Promise<void>
  close: () => Promise<void>
}

/**
 * A webhook receiver on loopback that verifies each signature and answers 500 to the first
 * `failFirst` deliveries (of the event `failEvent` only, when given).
 */
export async function startReceiver (failFirst: number, failEvent?: string): Promise<WebhookReceiver> {
  const received: Received[] = []
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const expected = Buffer.from(`sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`)
      const given = Buffer.from(String(request.headers['x-deployer-signature'] ?? ''))
      const verified = given.length === expected.length && timingSafeEqual(given, expected)
      const counts = (r: { headers: IncomingHttpHeaders }): boolean => failEvent === undefined || r.headers['x-deployer-event'] === failEvent
      const answered = !verified ? 401 : counts(request) && received.filter((r) => r.verified && counts(r)).length < failFirst ? 500 : 204
      received.push({ headers: request.headers, body, verified, answered })
      response.writeHead(answered).end()
      for (const waiter of [...waiters]) {
        if (received.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve()
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/deployer`,
    received,
    waitFor: async (count) => {
      if (received.length < count) await new Promise<void>((resolve) => waiters.push({ count, resolve }))
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
