/** A Redis server's address, as a Sentinel or Cluster node list names it. */
export interface RedisNode {
  host: string
  port: number
}

interface Credentials {
  /** REDIS_USERNAME (ACL user; Redis 6+). */
  username?: string
  /** REDIS_PASSWORD: the data nodes' password (`requirepass`/ACL). */
  password?: string
  /** REDIS_TLS=true: TLS to the data nodes (and to the sentinels). */
  tls: boolean
}

/**
 * Where Redis is (SPEC §2): one server (`REDIS_URL`), a primary found through Sentinel
 * (`REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`), or a Cluster (`REDIS_CLUSTER_NODES`). Sentinel or
 * Cluster, when set, take precedence over `REDIS_URL`.
 */
export type RedisSettings =
  | { mode: 'standalone', url: string }
  | (Credentials & { mode: 'sentinel', sentinels: RedisNode[], name: string, sentinelPassword?: string, sentinelUsername?: string, db?: number })
  | (Credentials & { mode: 'cluster', nodes: RedisNode[] })

/** Parses `host:port,host:port` (IPv6 as `[::1]:26379`); `defaultPort` when a port is left out. */
export function parseRedisNodes (variable: string, text: string, defaultPort: number): RedisNode[] {
  const nodes = text.split(',').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(part)
    const port = match?.[3] === undefined ? defaultPort : Number(match[3])
    if (match === null || port < 1 || port > 65535) {
      throw new Error(`${variable} must be a comma-separated list of host:port, like "10.0.0.1:26379,10.0.0.2:26379"; "${part}" is not`)
    }
    return { host: (match[1] ?? match[2]) as string, port }
  })
  if (nodes.length === 0) throw new Error(`${variable} is set but names no host:port`)
  return nodes
}

function optional (env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

function credentials (env: NodeJS.ProcessEnv): Credentials {
  const username = optional(env, 'REDIS_USERNAME')
  const password = optional(env, 'REDIS_PASSWORD')
  const tls = optional(env, 'REDIS_TLS')
  if (tls !== undefined && !['true', 'false', '1', '0'].includes(tls)) throw new Error(`REDIS_TLS must be true or false, got ${JSON.stringify(tls)}`)
  return { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), tls: tls === 'true' || tls === '1' }
}

/**
 * Reads the Redis settings from the environment, or returns undefined when none is given.
 * Passwords come only from the environment (never from config files or arguments).
 */
export function readRedisSettings (env: NodeJS.ProcessEnv = process.env): RedisSettings | undefined {
  const sentinels = optional(env, 'REDIS_SENTINELS')
  const cluster = optional(env, 'REDIS_CLUSTER_NODES')
  if (sentinels !== undefined && cluster !== undefined) {
    throw new Error('REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set: Redis is either behind Sentinel or a Cluster; unset one')
  }
  if (sentinels !== undefined) {
    const name = optional(env, 'REDIS_SENTINEL_NAME')
    if (name === undefined) throw new Error('REDIS_SENTINELS is set but REDIS_SENTINEL_NAME is not: set it to the primary\'s name in the sentinels\' config ("sentinel monitor <name> …")')
    const db = optional(env, 'REDIS_DB')
    if (db !== undefined && !/^\d+$/.test(db)) throw new Error(`REDIS_DB must be a database number, got ${JSON.stringify(db)}`)
    const sentinelPassword = optional(env, 'REDIS_SENTINEL_PASSWORD')
    const sentinelUsername = optional(env, 'REDIS_SENTINEL_USERNAME')
    return {
      mode: 'sentinel',
      sentinels: parseRedisNodes('REDIS_SENTINELS', sentinels, 26379),
      name,
      ...credentials(env),
      ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
      ...(sentinelUsername === undefined ? {} : { sentinelUsername }),
      ...(db === undefined ? {} : { db: Number(db) })
    }
  }
  if (cluster !== undefined) return { mode: 'cluster', nodes: parseRedisNodes('REDIS_CLUSTER_NODES', cluster, 6379), ...credentials(env) }
  const url = optional(env, 'REDIS_URL')
  return url === undefined ? undefined : { mode: 'standalone', url }
}

/** The settings' secrets, for masking (never logged, returned or passed in argv). */
export function redisSecrets (settings: RedisSettings): string[] {
  if (settings.mode === 'standalone') return []
  return [settings.password, settings.mode === 'sentinel' ? settings.sentinelPassword : undefined].filter((s): s is string => s !== undefined)
}

/** Where Redis is, for logs and messages: addresses only, never a password. */
export function describeRedis (settings: RedisSettings): string {
  const list = (nodes: RedisNode[]): string => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')
  if (settings.mode === 'sentinel') return `Redis primary "${settings.name}" through Sentinel ${list(settings.sentinels)}`
  if (settings.mode === 'cluster') return `Redis Cluster ${list(settings.nodes)}`
  try {
    const url = new URL(settings.url)
    return `Redis ${url.host}`
  } catch {
    return 'Redis (REDIS_URL)'
  }
}
