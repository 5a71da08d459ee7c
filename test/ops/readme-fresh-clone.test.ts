import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import t, { type Test } from 'tap'
import { cloneHead, NPM_SEEDED_ENV, seedNodeModules, whyNoClone, type FreshClone } from '../helpers/fresh-clone.js'
import { readmeSection, shellBlocks, splitCommands, type ReadmeCommand } from '../helpers/readme-commands.js'

/**
 * A new user's first hour (issue 16): on a fresh `git clone` of the committed HEAD, the README's
 * quick start, curl walk-through, CLI section and "Your own project" are run as written, command
 * by command, in one shell, as a reader pastes them. What the test changes, and why:
 * - the ports (API, PostgreSQL, Redis) are free ones, not 3000/55432/56379, which other runs may hold;
 *   the README's own variables (PORT, DEPLOYER_PG_PORT, DEPLOYER_REDIS_PORT) carry them;
 * - `dep_01…` placeholders become the id the previous commands printed;
 * - `npm start` and a `deploy --wait` that waits for an approver run in the background (the
 *   reader's other terminal), and "Ctrl-C" before the next `npm start` is a SIGINT;
 * - `# poll until "status":"…"` repeats the command until its answer says so;
 * - node_modules is seeded with hard links to this checkout's (npm install then only checks it);
 * - "Run the tests" (`npm test`) is not run: it is the whole suite.
 * It measures the time from `git clone` to the first succeeded deployment.
 */

t.setTimeout(600_000)

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

/** One bash, as the reader's terminal: variables and exports carry from command to command. */
class Terminal {
  private readonly shell: ChildProcessWithoutNullStreams
  private output = ''
  private count = 0
  constructor (readonly cwd: string, env: Record<string, string>, readonly logs: string) {
    this.shell = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.shell.stdout.setEncoding('utf8').on('data', (chunk: string) => { this.output += chunk })
    this.shell.stderr.setEncoding('utf8').on('data', (chunk: string) => { this.output += chunk })
    // Job control: each background job in its own process group, where Ctrl-C (SIGINT) reaches it.
    this.shell.stdin.write('set -m\n')
  }

  private async marker (name: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs
    const pattern = new RegExp(`${name} (\\d+)\\n`)
    for (;;) {
      const match = pattern.exec(this.output)
      if (match !== null) {
        this.output = this.output.slice((match.index ?? 0) + match[0].length)
        return Number(match[1])
      }
      if (Date.now() > deadline) throw new Error(`no ${name} within ${timeoutMs} ms; the shell printed: ${this.output.slice(-2000)}`)
      await sleep(50)
    }
  }

  /** Runs a command to its end: its exit code and everything it printed. */
  async run (command: string, timeoutMs = 240_000): Promise<{ code: number, output: string }> {
    const log = path.join(this.logs, `${++this.count}.log`)
    this.shell.stdin.write(`{\n${command}\n} >${log} 2>&1 </dev/null; echo "__DONE__ $?"\n`)
    const code = await this.marker('__DONE__', timeoutMs)
    return { code, output: readFileSync(log, 'utf8') }
  }

  /** Starts a command in the background (another terminal); its output goes to `log`. */
  async start (command: string): Promise<{ pid: number, log: string }> {
    const log = path.join(this.logs, `${++this.count}-background.log`)
    this.shell.stdin.write(`{\n${command}\n} >${log} 2>&1 </dev/null &\necho "__STARTED__ $!"\n`)
    return { pid: await this.marker('__STARTED__', 10_000), log }
  }

  /** Waits for a background command to end: its exit code. */
  async wait (pid: number, timeoutMs = 240_000): Promise<number> {
    this.shell.stdin.write(`wait ${pid}; echo "__WAITED__ $?"\n`)
    return await this.marker('__WAITED__', timeoutMs)
  }

  close (): void {
    this.shell.stdin.end()
  }
}

async function until<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(250)
  }
}

const missing = await whyNoClone() ?? ((await execa('curl', ['--version'], { reject: false })).exitCode === 0 ? undefined : 'curl is not installed')
if (missing !== undefined) {
  t.test('the README, followed literally on a fresh clone', { skip: `${missing}: the README is followed on a git clone with curl` }, async () => {})
} else {
  // One test holding the others, so that tap does not end the file between two of its steps.
  t.test('the README, followed literally on a fresh clone', followReadme)
}

async function followReadme (t: Test): Promise<void> {
  const started = performance.now()
  const clone: FreshClone = await cloneHead()
  // The postgres user (services.sh runs the server as postgres when root) must reach the clone's .data.
  chmodSync(clone.base, 0o755)
  t.teardown(clone.remove)
  await seedNodeModules(clone.dir)
  const readme = readFileSync(path.join(clone.dir, 'README.md'), 'utf8')
  const [apiPort, pgPort, redisPort] = [await freePort(), await freePort(), await freePort()]
  const home = path.join(clone.base, 'home')
  const logs = path.join(clone.base, 'logs')
  mkdirSync(home)
  mkdirSync(logs)
  const npmCache = (await execa('npm', ['config', 'get', 'cache'])).stdout.trim()
  const terminal = new Terminal(clone.dir, {
    PATH: process.env.PATH ?? '',
    HOME: home,
    // The user's npm cache (where this checkout's packages came from), whatever HOME is, and npm
    // settings a user could have in .npmrc: offline first, quiet, and no install scripts, which
    // could rewrite a seeded (hard-linked) file of this checkout in place.
    npm_config_cache: npmCache,
    ...NPM_SEEDED_ENV,
    PORT: String(apiPort),
    DEPLOYER_PG_PORT: String(pgPort),
    DEPLOYER_REDIS_PORT: String(redisPort)
  }, logs)
  let server: { pid: number, log: string } | undefined
  const stopServer = async (): Promise<void> => {
    if (server === undefined) return
    const { pid } = server
    server = undefined
    try { process.kill(-pid, 'SIGINT') } catch { return }
    await terminal.wait(pid, 90_000).catch(() => { try { process.kill(-pid, 'SIGKILL') } catch {} })
  }
  t.teardown(async () => {
    await stopServer()
    await terminal.run('env -u DEPLOYER_PG_PORT -u DEPLOYER_REDIS_PORT bash scripts/services.sh down', 120_000).catch(() => {})
    terminal.close()
  })

  const base = `http://127.0.0.1:${apiPort}`
  const healthy = async (): Promise<true | undefined> => {
    try { return (await fetch(`${base}/healthz`)).ok ? true : undefined } catch { return undefined }
  }
  let firstSuccessMs: number | undefined
  let lastId: string | undefined
  const seenIds = (text: string): string | undefined =>
    /"id":"(dep_[0-9A-Za-z]+)"/.exec(text)?.[1] ?? /(?:Created|⏸) (dep_[0-9A-Za-z]+)/.exec(text)?.[1]

  const pendingJobs: Array<{ label: string, job: { pid: number, log: string } }> = []

  /** Runs one README command as the reader would, with the substitutions listed at the top. */
  async function follow (t: Test, command: ReadmeCommand, bindings: Map<string, string>): Promise<void> {
    let text = command.text.replace(/(localhost|127\.0\.0\.1):3000\b/g, `$1:${apiPort}`)
    for (const placeholder of new Set(text.match(/dep_0\d…/g) ?? [])) {
      if (!bindings.has(placeholder)) {
        if (lastId === undefined) throw new Error(`${placeholder} before any deployment was created`)
        bindings.set(placeholder, lastId)
      }
      text = text.split(placeholder).join(bindings.get(placeholder) as string)
    }
    const label = `${command.section}: ${command.text.split('\n')[0] ?? ''}`

    if (/\bnpm start\b/.test(text)) {
      await stopServer() // "Ctrl-C" first, as the README says before a second start
      server = await terminal.start(text)
      const log = server.log
      await until(`${label} answers /healthz`, 300_000, healthy).catch((error: Error) => {
        throw new Error(`${error.message}; its log: ${readFileSync(log, 'utf8').slice(-3000)}`)
      })
      t.pass(`${label}: the service answers on ${base}`)
      return
    }
    if (/--wait\b/.test(text) && /--env production\b/.test(text)) {
      // Waits for an approver, who acts from another terminal: in the background until then.
      const job = await terminal.start(text)
      const waiting = /⏸ (dep_\w+) waits for approval in production/
      const match = await until(`${label} waits for approval`, 240_000, async () => waiting.exec(readFileSync(job.log, 'utf8')) ?? undefined)
      lastId = match[1]
      const review = new RegExp(`Review: +${base.replace(/[.:/]/g, '\\$&')}/ui#/deployments/${lastId as string}`)
      t.match(readFileSync(job.log, 'utf8'), review, `${label}: the Review line is the page's link`)
      pendingJobs.push({ label, job })
      return
    }
    const poll = /# poll until ("[a-z_]+":"[a-z_]+")/.exec(text)?.[1]
    let result = await terminal.run(text)
    if (poll !== undefined) {
      const deadline = Date.now() + 240_000
      while (!result.output.includes(poll)) {
        if (Date.now() > deadline) throw new Error(`${label}: never ${poll}; last answer: ${result.output.slice(0, 2000)}`)
        await sleep(250)
        result = await terminal.run(text)
      }
      if (firstSuccessMs === undefined && poll === '"status":"succeeded"') firstSuccessMs = performance.now() - started
    }
    t.equal(result.code, 0, `${label}: exit 0${result.code === 0 ? '' : `; printed: ${result.output.slice(-2000)}`}`)
    t.notMatch(result.output, /"error":\{"code"/, `${label}: no error answer`)
    lastId = seenIds(result.output) ?? lastId
    // A background job waiting for this command (an approval) ends now.
    for (const pending of pendingJobs.splice(0)) {
      const code = await terminal.wait(pending.job.pid)
      t.equal(code, 0, `${pending.label}: exits 0 once approved${code === 0 ? '' : `; printed: ${readFileSync(pending.job.log, 'utf8').slice(-1500)}`}`)
      t.match(readFileSync(pending.job.log, 'utf8'), /✅ COMPLETED: Migration Deployer/)
    }
  }

  async function followSection (title: string): Promise<void> {
    await t.test(`README "${title}", as written`, async (t) => {
      const bindings = new Map<string, string>()
      for (const block of shellBlocks(readmeSection(readme, title))) {
        const commands = splitCommands(block, title)
        if (commands.some((c) => /\bnpm test\b/.test(c.text))) {
          t.comment(`not run: ${commands.map((c) => c.text).join('; ')} (the whole suite; CI runs it)`)
          continue
        }
        for (const command of commands) await follow(t, command, bindings)
      }
      t.same(pendingJobs, [], 'nothing left waiting')
    })
  }

  const api = async (url: string): Promise<any> => await (await fetch(`${base}${url}`, { headers: { authorization: 'Bearer example-admin-token' } })).json()

  await followSection('Quick start')
  t.notMatch(readFileSync(server?.log ?? '/dev/null', 'utf8'), /is not set in this process/, 'every example environment has its URL')
  await followSection('Walk-through with curl')
  const seconds = (ms: number | undefined): string => ((ms ?? NaN) / 1000).toFixed(1)
  t.comment(`git clone → first succeeded deployment: ${seconds(firstSuccessMs)} s (git clone itself ${seconds(clone.cloneMs)} s)`)
  t.ok(firstSuccessMs !== undefined, 'a deployment succeeded')

  await t.test('the walk-through\'s deployments ended as it says', async (t) => {
    const { deployments } = await until('every deployment finished', 240_000, async () => {
      const list = await api('/deployments?limit=50') as { deployments: Array<{ id: string, environment: string, status: string, report: any }> }
      return list.deployments.every((d) => ['succeeded', 'failed', 'rejected', 'cancelled', 'expired'].includes(d.status)) ? list : undefined
    })
    const unsuccessful = deployments.filter((d) => d.status !== 'succeeded')
    t.same(unsuccessful.map((d) => `${d.environment} ${d.status}: ${JSON.stringify(d.report)}`), [], 'every one succeeded')
    const inline = deployments.find((d) => d.environment === 'staging' && d.report?.result?.migrations_applied === 1)
    t.ok(inline, 'step 5: the inline upload applied the one new migration to staging')
    const drift = await api('/environments/staging/status')
    const drifted = drift.drifted.map((m: { name: string }) => m.name)
    t.same(drifted, ['20250124140000_add_user_profiles'], 'staging\'s status shows it as drifted, as the README says')
  })

  await followSection('The CLI (for CI)')
  await followSection('Your own project')
  const own = await api('/deployments?environment=dev&limit=1')
  t.equal(own.error?.code, 'UNAUTHORIZED', 'the service now runs with the own project\'s config (the example tokens are gone)')

  await t.test('scripts/services.sh down without the port variables stops what npm start started', async (t) => {
    await stopServer()
    const down = await terminal.run('env -u DEPLOYER_PG_PORT -u DEPLOYER_REDIS_PORT bash scripts/services.sh down')
    t.equal(down.code, 0, down.output)
    t.match(down.output, /postgres: stopped/)
    t.match(down.output, new RegExp(`redis: stopped \\(was on 127\\.0\\.0\\.1:${redisPort}\\)`))
    t.notOk(existsSync(path.join(clone.dir, '.data/services.state')))
  })
}
