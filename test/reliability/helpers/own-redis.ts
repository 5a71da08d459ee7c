import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { until } from '../../helpers/until.js'
import { freePort } from './processes.js'

/**
 * A throwaway redis-server on its own port, for tests that stop it or FLUSHALL it (never the
 * shared one). `stop` and `start` keep the port, so clients reconnect to the same URL.
 */
export interface OwnRedis {
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
  flushAll: () => Promise<void>
  close: () => Promise<void>
}

export async function startOwnRedis (): Promise<OwnRedis> {
  const port = await freePort()
  let server: ChildProcess | undefined
  const ping = async (): Promise<true | undefined> => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      return await client.ping() === 'PONG' ? true : undefined
    } catch {
      return undefined
    } finally {
      client.disconnect()
    }
  }
  const start = async (): Promise<void> => {
    if (server !== undefined && server.exitCode === null && server.signalCode === null) return
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await until(ping, `redis-server on port ${port}`, 10_000, 20)
  }
  const stop = async (): Promise<void> => {
    const running = server
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
    server = undefined
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    flushAll: async () => {
      const client = new Redis({ port, host: '127.0.0.1' })
      try {
        await client.flushall()
      } finally {
        client.disconnect()
      }
    },
    close: stop
  }
}
