import { Redis } from 'ioredis'
import t from 'tap'
import { LeasedRedisStore } from '../../src/api/leased-rate-limit-store.js'
import { uniqueName } from '../helpers/databases.js'

// The rate limit's store against the real Redis: two stores on one Redis stand for two API
// processes. What must hold: never more than `max` requests pass per window across processes,
// and a large budget costs far fewer Redis calls than requests.

const redis = new Redis(process.env.REDIS_URL as string)
t.teardown(async () => { await redis.quit() })

interface Taken { current: number, ttl: number }

async function take (store: LeasedRedisStore, key: string, windowMs: number, max: number): Promise<Taken> {
  return await new Promise((resolve, reject) => {
    store.incr(key, (error, result) => { if (error !== null || result === undefined) reject(error ?? new Error('no result')); else resolve(result) }, windowMs, max)
  })
}

const passed = (results: Taken[], max: number): number => results.filter((r) => r.current <= max).length

t.test('a large budget: at most max pass across processes, in about one Redis call per block', async (t) => {
  const prefix = `${uniqueName('rl')}:`
  const first = new LeasedRedisStore(redis as never, prefix)
  const second = new LeasedRedisStore(redis as never, prefix)
  const max = 1000 // a block of 10
  const results = await Promise.all(Array.from({ length: 1500 }, async (_, i) => await take(i % 2 === 0 ? first : second, 'token:ci', 60_000, max)))
  const admitted = passed(results, max)
  t.ok(admitted <= max, `${admitted} passed, no more than ${max}`)
  t.ok(admitted >= max - 2 * 10, `${admitted} passed: at most one block per process left unused`)
  const numbers = results.map((r) => r.current).filter((n) => n <= max)
  t.equal(new Set(numbers).size, numbers.length, 'no number of the shared count is handed out twice')
  const counted = Number(await redis.get(`${prefix}token:ci`))
  t.ok(counted / 10 <= 1500 / 10 + 2, `${counted / 10} leases of 10 for 1,500 requests`)
  t.ok(results.every((r) => r.ttl > 0 && r.ttl <= 60_000), 'every answer says when the window ends')

  const before = await redis.get(`${prefix}token:ci`)
  const refused = await Promise.all(Array.from({ length: 50 }, async () => await take(first, 'token:ci', 60_000, max)))
  t.ok(refused.every((r) => r.current > max), 'a spent window refuses')
  t.equal(await redis.get(`${prefix}token:ci`), before, 'and answers without asking Redis again')
})

t.test('a small budget is counted request by request, shared by processes', async (t) => {
  const prefix = `${uniqueName('rl')}:`
  const first = new LeasedRedisStore(redis as never, prefix)
  const second = new LeasedRedisStore(redis as never, prefix)
  const currents: number[] = []
  for (let i = 0; i < 4; i++) currents.push((await take(first, 'token:viewer', 60_000, 5)).current)
  currents.push((await take(second, 'token:viewer', 60_000, 5)).current)
  t.same(currents, [1, 2, 3, 4, 5], 'one number per request, in order, across processes')
  t.equal((await take(first, 'token:viewer', 60_000, 5)).current, 6, 'the sixth is over the limit')
  t.ok((await take(second, 'token:viewer', 60_000, 5)).current > 5, 'in the other process too')
  t.equal((await take(second, 'token:alice', 60_000, 5)).current, 1, 'other keys have their own count')
})

t.test('a new window starts a new count', async (t) => {
  const prefix = `${uniqueName('rl')}:`
  const store = new LeasedRedisStore(redis as never, prefix)
  const windowMs = 300
  const spent = await Promise.all(Array.from({ length: 3 }, async () => await take(store, 'token:ci', windowMs, 2)))
  t.equal(passed(spent, 2), 2)
  // The window is the whole point here: wait for it to end (in Redis and in the store).
  await new Promise((resolve) => setTimeout(resolve, windowMs + 50))
  t.equal((await take(store, 'token:ci', windowMs, 2)).current, 1, 'the count starts again')
})

t.test('Redis errors reach the caller (the plugin lets the request through)', async (t) => {
  const broken = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  t.teardown(() => { broken.disconnect() })
  const store = new LeasedRedisStore(broken as never, 'nowhere:')
  await t.rejects(take(store, 'token:ci', 60_000, 600))
})
