import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { RedisSettings } from '../../../src/redis/settings.js'
import { until } from '../../helpers/until.js'
import { cleanUpAtExit, killQuietly } from './leftovers.js'

const run = promisify(execFile)

/**
 * A Redis Cluster of three masters (no replicas) on loopback ports of a test's own, made with
 * `redis-cli --cluster create`. Each node's cluster bus gets a port of the test's too (the default,
 * port + 10000, is out of range for ports above 55535).
 */
export interface RedisClusterSet {
  ports: number[]
  settings: Extract<RedisSettings, { mode: 'cluster' }>
  /** Every key on every node, with the node's port. */
  keys: () => Promise<Array<{ key: string, port: number }>>
  close: () => Promise<void>
}

async function withNode<T> (port: number, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return await work(client)
  } finally {
    client.disconnect()
  }
}

/** `ports`: one per node; `busPorts`: its cluster bus port, in the same order. */
export async function startRedisCluster (ports: number[], busPorts: number[]): Promise<RedisClusterSet> {
  const dir = mkdtempSync(path.join(tmpdir(), 'md-cluster-'))
  const children: ChildProcess[] = []
  const unregister = cleanUpAtExit(() => {
    for (const child of children) killQuietly(child.pid)
    rmSync(dir, { recursive: true, force: true })
  })
  const close = async (): Promise<void> => {
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }))
    rmSync(dir, { recursive: true, force: true })
    unregister()
  }
  try {
    for (const [i, port] of ports.entries()) {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000', '--cluster-port', String(busPorts[i])], { stdio: 'ignore', cwd: dir })
      child.on('error', () => {})
      children.push(child)
    }
    for (const port of ports) {
      await until(async () => await withNode(port, async (c) => await c.ping()).catch(() => undefined) === 'PONG' ? true : undefined, `cluster node ${port}`, 30_000, 20)
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-yes'], { timeout: 30_000 })
    for (const port of ports) {
      await until(async () => {
        const info = await withNode(port, async (c) => String(await c.call('CLUSTER', 'INFO'))).catch(() => '')
        return info.includes('cluster_state:ok') ? true : undefined
      }, `cluster node ${port} to see the cluster ok`, 20_000, 50)
    }
  } catch (error) {
    await close()
    throw error
  }
  return {
    ports,
    settings: { mode: 'cluster', nodes: ports.map((port) => ({ host: '127.0.0.1', port })), tls: false },
    keys: async () => (await Promise.all(ports.map(async (port) => (await withNode(port, async (c) => await c.keys('*'))).map((key) => ({ key, port }))))).flat(),
    close
  }
}
