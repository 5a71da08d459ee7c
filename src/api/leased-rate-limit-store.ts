import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { RedisClient } from '../redis/connections.js'

// Takes `block` numbers of a fixed window's count at once; starts the window on its first use.
const LEASE_SCRIPT = `
local total = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {total, ttl}`

/** Out of a window's `max`, the share one lease takes: at most 1% of the budget is left unused per API process. */
const LEASE_SHARE = 100
/** The most numbers one lease takes (when the budget is huge). */
const MAX_LEASE = 1000
/** Past this many keys (tokens and addresses), leases of ended windows are dropped. */
const PRUNE_ABOVE = 10_000

interface Lease {
  /** The next number of the window's count this process hands out. */
  next: number
  /** The last number leased. */
  last: number
  /** When the window ends (performance.now() time). */
  windowEnd: number
}

type LeasingRedis = RedisClient & { rateLimitLease: (key: string, windowMs: number, block: number) => Promise<[number, number]> }

/**
 * A `@fastify/rate-limit` store that counts in Redis, shared by every API process, without a
 * Redis round trip per request: a process leases a block of the window's count (INCRBY) and
 * numbers its requests from it locally. Every request still gets a number of the shared count
 * that no other request got, and the request numbered above `max` is refused, so across all
 * processes no more than `max` requests pass per window; a block not used up by the window's
 * end is lost, which only ever refuses early (by at most 1% of `max` per process). With a
 * small `max` (under 200) a block is one number: exactly one INCR per request, as RedisStore.
 * Once the window's budget is spent, a process answers the rest of the window without Redis.
 */
export class LeasedRedisStore implements FastifyRateLimitStore {
  private readonly leases = new Map<string, Lease>()
  private readonly pending = new Map<string, Promise<void>>()

  constructor (private readonly redis: LeasingRedis, private readonly prefix: string) {}

  /** The store class the plugin's `store` option takes, bound to a Redis connection and a key prefix. */
  static on (redis: RedisClient, prefix: string): FastifyRateLimitStoreCtor {
    return class extends LeasedRedisStore {
      constructor () { super(redis as LeasingRedis, prefix) }
    }
  }

  incr (key: string, callback: (error: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number, max: number): void {
    this.take(key, timeWindow, max).then((result) => { callback(null, result) }, (error: Error) => { callback(error) })
  }

  /** A route with its own limit counts apart (the plugin passes the merged options, with `routeInfo`). */
  child (routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
    const route = (routeOptions as unknown as { routeInfo?: { method?: string, url?: string } }).routeInfo
    return new LeasedRedisStore(this.redis, `${this.prefix}${route?.method ?? ''}${route?.url ?? ''}-`)
  }

  private async take (key: string, windowMs: number, max: number): Promise<{ current: number, ttl: number }> {
    for (;;) {
      const lease = this.leases.get(key)
      const now = performance.now()
      // A number left in this window's block, or a window whose budget is spent (every number up to max is taken).
      if (lease !== undefined && now < lease.windowEnd && (lease.next <= lease.last || lease.last >= max)) {
        return { current: lease.next++, ttl: Math.max(0, Math.ceil(lease.windowEnd - now)) }
      }
      // Requests that find the block used up wait for one lease together, then number from it.
      let leasing = this.pending.get(key)
      if (leasing === undefined) {
        leasing = this.lease(key, windowMs, max).finally(() => { this.pending.delete(key) })
        this.pending.set(key, leasing)
      }
      await leasing
    }
  }

  private async lease (key: string, windowMs: number, max: number): Promise<void> {
    const block = Math.min(MAX_LEASE, Math.max(1, Math.floor(max / LEASE_SHARE)))
    // Defined on first use: building the app without Redis (the OpenAPI document) never leases.
    if (typeof this.redis.rateLimitLease !== 'function') this.redis.defineCommand('rateLimitLease', { numberOfKeys: 1, lua: LEASE_SCRIPT })
    const asked = performance.now()
    const [total, ttl] = await this.redis.rateLimitLease(this.prefix + key, windowMs, block)
    if (this.leases.size > PRUNE_ABOVE) {
      for (const [other, lease] of this.leases) if (lease.windowEnd <= asked) this.leases.delete(other)
    }
    this.leases.set(key, { next: total - block + 1, last: total, windowEnd: asked + ttl })
  }
}
