import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { sha256Hex } from '../lib/checksum.js'
import type { Principal } from './principal.js'

/** A person's signed-in session, kept in Redis (never in the cookie, which holds only its random id). */
export interface Session {
  principal: Principal
  /** Sent back by the page as X-CSRF-Token on every state-changing request. */
  csrf: string
  created_at: number
  /** Ends then however active it is (`absolute_timeout`). */
  expires_at: number
}

/** What the login leg stores until the provider sends the person back (SPEC §13: code flow with PKCE). */
export interface PendingLogin {
  state: string
  nonce: string
  code_verifier: string
  /** A view of the review page to return to (`#/deployments/…`), already checked. */
  return_to: string
}

const LOGIN_TTL_MS = 10 * 60_000

/**
 * Sessions and pending sign-ins in Redis, shared by every API process. Keys hold the SHA-256 of
 * the id the browser has, so whoever reads Redis (a dump, a replica) cannot take over a session.
 * Every read slides the idle timeout (GETEX: one round trip); the absolute timeout is in the value.
 */
export class SessionStore {
  constructor (private readonly redis: Redis, private readonly prefix: string, private readonly timeouts: { idleMs: number, absoluteMs: number }) {}

  async create (principal: Principal): Promise<{ id: string, session: Session }> {
    const id = randomBytes(32).toString('base64url')
    const now = Date.now()
    const session: Session = { principal, csrf: randomBytes(32).toString('base64url'), created_at: now, expires_at: now + this.timeouts.absoluteMs }
    await this.redis.set(this.key('session', id), JSON.stringify(session), 'PX', Math.min(this.timeouts.idleMs, this.timeouts.absoluteMs))
    return { id, session }
  }

  /** The live session of this id, its idle timeout restarted; null when unknown, idle too long or too old. */
  async get (id: string): Promise<Session | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null
    const key = this.key('session', id)
    const text = await this.redis.getex(key, 'PX', this.timeouts.idleMs)
    if (text === null) return null
    const session = JSON.parse(text) as Session
    if (Date.now() >= session.expires_at) {
      await this.redis.del(key)
      return null
    }
    return session
  }

  async destroy (id: string): Promise<void> {
    await this.redis.del(this.key('session', id))
  }

  /** Stores a sign-in in progress under the id of the browser's short-lived login cookie. */
  async savePendingLogin (id: string, login: PendingLogin): Promise<void> {
    await this.redis.set(this.key('login', id), JSON.stringify(login), 'PX', LOGIN_TTL_MS)
  }

  /** The sign-in in progress of this browser, once: a callback replayed finds nothing. */
  async takePendingLogin (id: string): Promise<PendingLogin | null> {
    const text = await this.redis.getdel(this.key('login', id))
    return text === null ? null : JSON.parse(text) as PendingLogin
  }

  private key (kind: 'session' | 'login', id: string): string {
    return `${this.prefix}${kind}:${sha256Hex(id)}`
  }
}
