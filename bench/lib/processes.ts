import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { PROJECT_ROOT } from './bench-env.js'

/** A process the bench started: the API, the worker, or the bare Fastify server. */
export interface BenchProcess {
  readonly name: string
  readonly pid: number
  /** Resident set size now, in MB (from /proc). */
  rssMb: () => Promise<number>
  /** CPU time (user + system) the process has used so far, in ms (from /proc; 10 ms resolution). */
  cpuMs: () => Promise<number>
  stop: () => Promise<void>
}

/** A port nobody listens on right now, on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/**
 * The built CLI (`npm run build`): the service runs as it is shipped, not through a TypeScript loader.
 * BENCH_DIST names another build folder at the project's top (a variant built to compare, e.g. `dist-b`).
 */
export function builtCli (): string {
  const cli = path.join(PROJECT_ROOT, process.env.BENCH_DIST ?? 'dist', 'cli', 'main.js')
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm run bench does)`)
  return cli
}

async function rssOf (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
  return kb === undefined ? Number.NaN : Number(kb) / 1024
}

const TICKS_PER_SECOND = 100

async function cpuOf (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

/**
 * Starts `node <args>` with its output in `logFile`, and waits until a line of that output
 * satisfies `isReady`, or the process exits, whichever comes first.
 */
export async function startProcess (
  name: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; logFile: string; isReady: (line: string) => boolean; timeoutMs?: number }
): Promise<BenchProcess> {
  // The process writes its output straight to the file: piped through this process, the API's
  // access log would cost the load generator (autocannon runs here) CPU the bare server never asks for.
  const out = openSync(options.logFile, 'a')
  const child: ChildProcess = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', out, out] })
  closeSync(out)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code)
    })
  )
  let gone: number | null | undefined
  void exited.then((code) => {
    gone = code
  })
  const timeoutMs = options.timeoutMs ?? 60_000
  for (const deadline = Date.now() + timeoutMs; ;) {
    const text = await readFile(options.logFile, 'utf8')
    if (text.split('\n').some(options.isReady)) break
    if (gone !== undefined) throw new Error(`${name} exited with code ${String(gone)} before it was ready: ${text.slice(-1500)}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${name} was not ready within ${timeoutMs} ms; see ${options.logFile}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const pid = child.pid as number
  return {
    name,
    pid,
    rssMb: async () => await rssOf(pid),
    cpuMs: async () => await cpuOf(pid),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 35_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** The NODE_OPTIONS the Docker image runs the service with (its `ENV NODE_OPTIONS=` line): the bench runs it the same way. */
export function shippedNodeOptions (): string {
  const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8')
  return /NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1] ?? ''
}

/** The API only (`migration-deployer serve`), listening on 127.0.0.1:`port`. */
export async function startApi (env: NodeJS.ProcessEnv, port: number, logFile: string, nodeArgs: string[] = []): Promise<BenchProcess> {
  return await startProcess('api', [...nodeArgs, builtCli(), 'serve'], { env: { ...env, NODE_OPTIONS: shippedNodeOptions(), HOST: '127.0.0.1', PORT: String(port) }, logFile, isReady: (line) => line.includes('"msg":"migration-deployer ready"') })
}

/** The worker only (`migration-deployer worker`); BENCH_WORKER_NODE_ARGS adds node flags. */
export async function startWorker (env: NodeJS.ProcessEnv, logFile: string): Promise<BenchProcess> {
  // BENCH_WORKER_NODE_ARGS: node flags for the worker (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof to profile it).
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '')
  return await startProcess('worker', [...nodeArgs, builtCli(), 'worker'], { env: { ...env, NODE_OPTIONS: shippedNodeOptions(), LOG_LEVEL: 'info' }, logFile, isReady: (line) => line.includes('"msg":"migration-deployer ready"') })
}

/** The reference: a bare Fastify route answering `bodyFile`'s bytes from memory. */
export async function startBareServer (bodyFile: string, port: number, logFile: string): Promise<BenchProcess> {
  return await startProcess('bare', ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'bare-server.ts'), bodyFile, String(port)], { env: {}, logFile, isReady: (line) => line.startsWith('bare server listening') })
}
