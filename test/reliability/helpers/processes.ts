import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { stringify } from 'yaml'
import { cliArgs } from '../../helpers/built-source.js'
import { FIXTURES, PROJECT_ROOT, startHarness, TOKENS, withoutDefaultRehearsal, withSuperuserTargets, type Harness } from '../../helpers/harness.js'

/** A real `migration-deployer <role>` process, as operators run it. */
export interface ServiceProcess {
  role: 'worker' | 'serve' | 'start'
  child: ChildProcess
  pid: number
  /** stdout lines (pino JSON) and stderr lines, as they came. */
  lines: string[]
  /** Resolves once it logged "migration-deployer ready"; rejects if it exits first. */
  ready: Promise<void>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** The base URL of an API process (after `ready`). */
  url?: string
  kill: (signal: NodeJS.Signals) => void
}

/** A TCP port nobody listens on right now. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/**
 * `count` distinct TCP ports nobody listens on right now (all held open while choosing, so no two
 * are the same). Tests that start servers take these rather than fixed numbers: a fixed port sits
 * in the ephemeral range, where any client connection of a busy machine may hold it.
 */
export async function freePorts (count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, async () => await new Promise<Server>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve(server) })
  })))
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  await Promise.all(servers.map(async (server) => { await new Promise((resolve) => server.close(resolve)) }))
  return ports
}

/** Thirty (or `count`) migrations that each take a little time: `pg_sleep` plus a table. */
export function slowMigrations (count: number, sleepSeconds = 0.05): Array<{ name: string, sql: string }> {
  return Array.from({ length: count }, (_unused, i) => ({
    name: `20260101${String(i).padStart(6, '0')}_t${i}`,
    sql: `SELECT pg_sleep(${sleepSeconds});\nCREATE TABLE "t${i}" (id integer PRIMARY KEY, note text);\n`
  }))
}

/**
 * Writes the harness's service as a YAML config for child processes: the same environments
 * (their URL variables point at the harness's target databases) and the same test tokens, plus
 * any `extra` top-level settings (`limits`, `notifications`). As in the harness's own config, a
 * protected environment rehearses only when the test says so (withoutDefaultRehearsal): a
 * rehearsal (dump, restore, drop) took 3.6 s of each approved round of crash-resume.
 */
export function writeServiceConfig (
  h: Harness,
  environments: Record<string, Record<string, unknown>>,
  extra: Record<string, unknown> = {}
): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'md-reliability-'))
  const configured: Record<string, Record<string, unknown>> = {}
  for (const [name, environment] of Object.entries(environments)) {
    configured[name] = { ...withoutDefaultRehearsal(withSuperuserTargets(environment)), database_url_env: h.config.environments[name]?.database_url_env }
  }
  const document = {
    workspace_root: FIXTURES,
    environments: configured,
    auth: {
      tokens: Object.entries(TOKENS).map(([name, roles]) => ({ name, roles: [...roles], sha256: createHash('sha256').update(`${name}-token`).digest('hex') }))
    },
    ...extra
  }
  const file = path.join(dir, 'migration-deployer.yaml')
  writeFileSync(file, stringify(document))
  return {
    file,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The environment of a child process serving the harness's control DB, queue and targets. */
export function serviceEnv (h: Harness, configFile: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const settings = h.runtime.settings
  const targets = Object.fromEntries(Object.entries(h.runtime.pipeline.env).filter((entry): entry is [string, string] => entry[1] !== undefined))
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    DEPLOYER_QUEUE: settings.queueName,
    DEPLOYER_CONFIG: configFile,
    LOG_LEVEL: 'info',
    ...targets,
    ...extra
  }
}

/**
 * Starts `migration-deployer <role>` from the current src/ compiled (built-source.ts; one node
 * process, so SIGKILL kills the real thing, not a wrapper), or `node <from.main> <role>` in
 * `from.cwd` (a built tree). Every process started here is killed by `killAll`.
 */
export function spawnService (
  role: ServiceProcess['role'], env: NodeJS.ProcessEnv, registry: ServiceProcess[], from?: { cwd: string, main: string }
): ServiceProcess {
  const args = from === undefined ? cliArgs([role]) : [from.main, role]
  const child = spawn(process.execPath, args, { cwd: from?.cwd ?? PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let onReady: (() => void) | undefined
  const service: ServiceProcess = {
    role,
    child,
    pid: child.pid ?? -1,
    lines,
    ready: new Promise<void>((resolve) => { onReady = resolve }),
    exited: new Promise((resolve) => { child.once('exit', (code, signal) => { resolve({ code, signal }) }) }),
    kill: (signal) => { if (child.exitCode === null && child.signalCode === null) child.kill(signal) }
  }
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    let buffered = ''
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => {
      buffered += chunk
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      for (const line of parts) {
        lines.push(line)
        if (line.includes('"msg":"migration-deployer ready"')) {
          const address = (JSON.parse(line) as { address?: { address: string, port: number } }).address
          if (address !== undefined) service.url = `http://${address.address}:${address.port}`
          onReady?.()
        }
      }
    })
  }
  collect(child.stdout)
  collect(child.stderr)
  service.ready = Promise.race([service.ready, service.exited.then(({ code, signal }) => { throw new Error(`${role} exited (${code ?? signal ?? '?'}) before it was ready:\n${lines.slice(-20).join('\n')}`) })])
  service.ready.catch(() => {})
  registry.push(service)
  return service
}

/** Kills every process still running (teardown). */
export async function killAll (registry: ServiceProcess[]): Promise<void> {
  await Promise.all(registry.map(async (service) => {
    service.kill('SIGKILL')
    await service.exited
  }))
}

/**
 * A harness without an in-process worker, a service config file for real processes, and the list
 * those processes go in; the test's teardown kills them, removes the file and closes the harness.
 */
export async function startProcessHarness (
  t: { teardown: (fn: () => Promise<void>) => void },
  environments: Record<string, Record<string, unknown>>
): Promise<{ h: Harness; config: { file: string; cleanup: () => void }; processes: ServiceProcess[] }> {
  // Reliability tests post dozens of deployments from one token (past the default queued-work
  // limit) and poll each of them hard (past the default rate limit): the in-process API and the
  // spawned processes get the same limits.
  const limits = { queued_per_token: 1000, rate_limit: { max: 1_000_000, window: '1m' } }
  const h = await startHarness({ environments, worker: false, limits })
  const config = writeServiceConfig(h, environments, { limits })
  const processes: ServiceProcess[] = []
  t.teardown(async () => {
    await killAll(processes)
    config.cleanup()
    await h.close()
  })
  return { h, config, processes }
}
