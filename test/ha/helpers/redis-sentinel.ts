import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import type { RedisSettings } from '../../../src/redis/settings.js'
import { until } from '../../helpers/until.js'
import { cleanUpAtExit, killQuietly } from './leftovers.js'

export const SENTINEL_NAME = 'deployer'

/**
 * A Redis primary, its replica and three sentinels (quorum 2) of a test's own, on loopback ports,
 * as Debian's redis-sentinel runs them (`redis-server <conf> --sentinel`). The sentinels call
 * the primary down after 1 s without an answer.
 */
export interface RedisSentinelSet {
  /** What the service is configured with: REDIS_SENTINELS + REDIS_SENTINEL_NAME. */
  settings: Extract<RedisSettings, { mode: 'sentinel' }>
  /** The port of the server the sentinels currently name as primary. */
  primaryPort: () => Promise<number>
  /** SIGKILLs the server that is primary now; resolves once it has exited. */
  killPrimary: () => Promise<number>
  /** Resolves with the new primary's port once the sentinels name another one and it accepts writes. */
  waitForPromotion: (oldPort: number, timeoutMs: number) => Promise<number>
  close: () => Promise<void>
}

async function command (port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.call(args[0] as string, ...args.slice(1))
  } finally {
    client.disconnect()
  }
}

const attempt = async <T>(work: () => Promise<T>): Promise<T | undefined> => await work().catch(() => undefined)

/** Ports: [primary, replica, sentinel, sentinel, sentinel]. */
export async function startRedisSentinelSet (ports: [number, number, number, number, number]): Promise<RedisSentinelSet> {
  const dir = mkdtempSync(path.join(tmpdir(), 'md-sentinel-'))
  const children = new Map<number, ChildProcess>()
  const unregister = cleanUpAtExit(() => {
    for (const child of children.values()) killQuietly(child.pid)
    rmSync(dir, { recursive: true, force: true })
  })
  const launch = (port: number, args: string[]): void => {
    const child = spawn('redis-server', args, { stdio: 'ignore', cwd: dir })
    child.on('error', () => {})
    children.set(port, child)
  }
  const kill = async (port: number): Promise<void> => {
    const child = children.get(port)
    children.delete(port)
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  const close = async (): Promise<void> => {
    await Promise.all([...children.keys()].map(kill))
    rmSync(dir, { recursive: true, force: true })
    unregister()
  }
  const [primary, replica, ...sentinels] = ports
  const server = (port: number): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  const sentinelAsks = async <T>(args: string[]): Promise<T | undefined> => await attempt(async () => await command(sentinels[0] as number, 'SENTINEL', ...args) as T)
  const primaryPort = async (): Promise<number> => {
    const address = await command(sentinels[0] as number, 'SENTINEL', 'get-master-addr-by-name', SENTINEL_NAME) as [string, string]
    return Number(address[1])
  }

  try {
    launch(primary, server(primary))
    launch(replica, [...server(replica), '--replicaof', '127.0.0.1', String(primary)])
    for (const port of sentinels) {
      // Sentinel rewrites its config file: one each, in the test's directory.
      const file = path.join(dir, `sentinel-${port}.conf`)
      writeFileSync(file, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
        `sentinel failover-timeout ${SENTINEL_NAME} 10000`,
        `sentinel parallel-syncs ${SENTINEL_NAME} 1`, ''
      ].join('\n'))
      launch(port, [file, '--sentinel'])
    }
    await until(async () => {
      const info = await attempt(async () => String(await command(replica, 'INFO', 'replication')))
      return info?.includes('master_link_status:up') === true ? true : undefined
    }, 'the replica to sync with the primary', 20_000, 50)
    // Every sentinel must know the replica and the other two before a failover can happen.
    for (const port of sentinels) {
      await until(async () => {
        const known = await attempt(async () => [
          (await command(port, 'SENTINEL', 'replicas', SENTINEL_NAME) as unknown[]).length,
          (await command(port, 'SENTINEL', 'sentinels', SENTINEL_NAME) as unknown[]).length
        ])
        return known?.[0] === 1 && known[1] === 2 ? true : undefined
      }, `sentinel ${port} to discover the replica and the other sentinels`, 30_000, 100)
    }
  } catch (error) {
    await close()
    throw error
  }

  return {
    settings: { mode: 'sentinel', sentinels: sentinels.map((port) => ({ host: '127.0.0.1', port })), name: SENTINEL_NAME, tls: false },
    primaryPort,
    killPrimary: async () => {
      const port = await primaryPort()
      await kill(port)
      return port
    },
    waitForPromotion: async (oldPort, timeoutMs) => await until(async () => {
      const address = await sentinelAsks<[string, string]>(['get-master-addr-by-name', SENTINEL_NAME])
      const port = Number(address?.[1])
      if (address === undefined || port === oldPort) return undefined
      const role = await attempt(async () => await command(port, 'ROLE') as [string])
      return role?.[0] === 'master' ? port : undefined
    }, 'Sentinel to promote the replica', timeoutMs, 50),
    close
  }
}
