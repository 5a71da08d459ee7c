import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import t from 'tap'
import { PROJECT_ROOT } from '../helpers/harness.js'

/**
 * scripts/services.sh remembers what it started (issue 16 item 5): `status` and `down` run
 * without DEPLOYER_PG_PORT/DEPLOYER_REDIS_PORT act on the recorded ports, and `down` stops both.
 * The script runs from a project folder of its own, so its cluster and Redis are the test's.
 */

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const project = mkdtempSync(path.join(tmpdir(), 'md-services-'))
// The postgres user (the script runs the server as postgres when root) must reach .data inside.
chmodSync(project, 0o755)
mkdirSync(path.join(project, 'scripts'))
copyFileSync(path.join(PROJECT_ROOT, 'scripts/services.sh'), path.join(project, 'scripts/services.sh'))
const script = path.join(project, 'scripts/services.sh')
// Only what the script needs: no port variables, no URLs from the test's own environment.
const bareEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' }
const services = async (command: string, env: Record<string, string> = {}): Promise<{ exitCode: number, stdout: string, stderr: string }> => {
  const result = await execa('bash', [script, command], { env: { ...bareEnv, ...env }, extendEnv: false, reject: false, timeout: 180_000 })
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
}
const pgAnswers = async (port: number): Promise<boolean> =>
  (await execa('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port), '-t', '3'], { reject: false })).exitCode === 0
const redisAnswers = async (port: number): Promise<boolean> =>
  (await execa('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { reject: false })).stdout === 'PONG'

t.teardown(async () => {
  await services('down')
  rmSync(project, { recursive: true, force: true })
})

t.test('status and down without the port variables act on what up started', async (t) => {
  const pgPort = await freePort()
  const redisPort = await freePort()
  const up = await services('up', { DEPLOYER_PG_PORT: String(pgPort), DEPLOYER_REDIS_PORT: String(redisPort) })
  t.equal(up.exitCode, 0, up.stderr)
  const state = readFileSync(path.join(project, '.data/services.state'), 'utf8')
  t.match(state, new RegExp(`^PG_PORT=${pgPort}$`, 'm'))
  t.match(state, new RegExp(`^REDIS_PORT=${redisPort}$`, 'm'))
  t.match(state, /^PG_PID=\d+$/m)
  t.match(state, /^REDIS_PID=\d+$/m)

  const status = await services('status')
  t.equal(status.exitCode, 0, status.stdout)
  t.match(status.stdout, new RegExp(`postgres: up on 127\\.0\\.0\\.1:${pgPort} \\(pid \\d+\\)`))
  t.match(status.stdout, new RegExp(`redis: up on 127\\.0\\.0\\.1:${redisPort} \\(pid \\d+\\)`))

  // Started again on another Redis port: the first Redis is this project's, so it is stopped, not left behind.
  const otherRedis = await freePort()
  const again = await services('up', { DEPLOYER_REDIS_PORT: String(otherRedis) })
  t.equal(again.exitCode, 0, again.stderr)
  t.match(again.stdout, new RegExp(`postgres: up on 127\\.0\\.0\\.1:${pgPort}`), 'the recorded PostgreSQL port is kept')
  t.notOk(await redisAnswers(redisPort), 'the Redis on the old port is stopped')
  t.ok(await redisAnswers(otherRedis))

  const down = await services('down')
  t.equal(down.exitCode, 0, down.stderr)
  t.match(down.stdout, /postgres: stopped/)
  t.match(down.stdout, new RegExp(`redis: stopped \\(was on 127\\.0\\.0\\.1:${otherRedis}\\)`))
  t.notOk(await pgAnswers(pgPort), 'PostgreSQL is stopped')
  t.notOk(await redisAnswers(otherRedis), 'Redis is stopped')
  t.notOk(existsSync(path.join(project, '.data/services.state')), 'nothing is recorded as running any more')

  const after = await services('status', { DEPLOYER_PG_PORT: String(pgPort), DEPLOYER_REDIS_PORT: String(otherRedis) })
  t.equal(after.exitCode, 3)
  t.match(after.stdout, /postgres: down/)
  t.match(after.stdout, /redis: down/)
})

t.test('down with nothing recorded leaves alone a Redis this folder did not start (another checkout\'s, CI\'s)', async (t) => {
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'md-foreign-redis-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  await execa('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'yes', '--dir', dir, '--save', '', '--appendonly', 'no'])
  t.teardown(async () => { await execa('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'shutdown', 'nosave'], { reject: false }) })
  t.ok(await redisAnswers(port), 'the other Redis runs')
  const down = await services('down', { DEPLOYER_REDIS_PORT: String(port) })
  t.equal(down.exitCode, 0, down.stderr)
  t.match(down.stdout, /redis: not running \(none started from this folder\)/)
  t.ok(await redisAnswers(port), 'it still runs after down')
})
