import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { execa } from 'execa'
import pg from 'pg'
import t from 'tap'
import { cliArgs } from '../helpers/built-source.js'
import { runCli, spawnCli } from '../helpers/cli.js'
import { createControlDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { FIXTURES, PROJECT_ROOT, startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

/**
 * What a new user meets first with the CLI (issue 16): help and version without side effects,
 * a second server that cannot listen exits at once with one line, a warning per environment
 * whose URL is unset, the Review link, and the smaller items (EPIPE, a cancelled deployment's
 * status, wording, one mode label, env-status after an inline deploy).
 */

// Each CLI run starts a Node process: on a loaded machine this file needs more than the default time.
t.setTimeout(600_000)

const h = await startHarness({
  environments: {
    dev: { working_directory: 'app' },
    staging: { working_directory: 'app' },
    production: {
      working_directory: 'app',
      protected: true,
      requires_success_in: ['staging'],
      approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
      health_check: { checks: ['connectivity'], timeout: '5s' }
    },
    solo: { working_directory: 'app', requires_success_in: ['staging'] }
  }
})
t.teardown(h.close)
const server = await listenOnLoopback(h)
const asCi = { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('ci-bot') }

t.test('every command answers --help without side effects; --version and -v print the version', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
  // No DATABASE_URL, REDIS_URL or DEPLOYER_URL: help must need none of them, and start nothing.
  for (const args of [['start', '--help'], ['serve', '--help'], ['worker', '-h']]) {
    const run = await runCli(args)
    t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
    t.match(run.stdout, new RegExp(`^usage: migration-deployer ${args[0] as string}\\n`), `${args.join(' ')} prints that command's usage`)
    t.notMatch(run.stdout + run.stderr, /DATABASE_URL and REDIS_URL must be set|Server listening/, `${args.join(' ')} starts nothing`)
  }
  const helpDeploy = await runCli(['help', 'deploy'])
  t.equal(helpDeploy.code, 0)
  t.match(helpDeploy.stdout, /^usage: migration-deployer deploy --env <name>/, 'help deploy is deploy\'s usage, not the general one')
  t.equal((await runCli(['help', 'nonsense'])).code, 2)
  for (const flag of ['--version', '-v']) {
    const run = await runCli([flag])
    t.equal(run.code, 0, flag)
    t.equal(run.stdout, `${version}\n`, `${flag} prints the version`)
  }
})

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

t.test('a start that cannot listen exits 1 at once with one line, and warns once per environment whose URL is unset', async (t) => {
  const control = await createControlDatabase()
  t.teardown(async () => { await dropDatabase(control) })
  // The port is taken (as by a first `npm start`).
  const blocker = createServer()
  const port = await freePort()
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
  t.teardown(() => { blocker.close() })
  const env = {
    DATABASE_URL: databaseUrl(control),
    REDIS_URL: process.env.REDIS_URL,
    PORT: String(port),
    DEPLOYER_QUEUE: `first-hour-${port}`,
    DEPLOYER_CONFIG: path.join(PROJECT_ROOT, 'migration-deployer.yaml'),
    DEV_DATABASE_URL: process.env.DEV_DATABASE_URL ?? databaseUrl('deployer_dev')
    // STAGING_DATABASE_URL and PROD_DATABASE_URL unset.
  }
  const started = performance.now()
  const child = spawn(process.execPath, cliArgs(['start']), {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  t.equal(code, 1, 'exits non-zero')
  t.equal(stderr, `migration-deployer: the API cannot listen on 127.0.0.1:${port}: the address is already in use ` +
    '(another migration-deployer running?). Stop it, or set PORT to a free port.\n', 'one clear line')
  t.notMatch(stdout, /migration-deployer ready/, 'never ready')
  t.ok(performance.now() - started < 120_000, 'at once (no lingering worker)')
  const rows = await queryDatabase<{ n: number }>(control, 'SELECT count(*)::int AS n FROM deployments')
  t.equal(rows[0]?.n, 0)

  const warnings = stdout.split('\n').filter((line) => line.includes('is not set in this process'))
  t.equal(warnings.length, 2, 'one warning per environment whose URL variable is unset')
  t.match(warnings.join('\n'), /environment staging: STAGING_DATABASE_URL is not set in this process, so deployments to staging will fail/)
  t.match(warnings.join('\n'), /environment production: PROD_DATABASE_URL is not set in this process/)
  t.notMatch(warnings.join('\n'), /environment dev:/)
})

t.test('one mode label per mode; the promotion gate\'s line counts in words', async (t) => {
  const staging = await runCli(['deploy', '--env', 'staging', '--dir', path.join(FIXTURES, 'app-next'), '--wait'], asCi)
  t.equal(staging.code, 0, staging.stderr)
  t.match(staging.stdout, /^Mode: deploy \(production mode\)$/m, 'an unprotected deploy-mode environment')
  const dev = await runCli(['deploy', '--env', 'dev', '--dir', path.join(FIXTURES, 'app'), '--wait'], asCi)
  t.match(dev.stdout, /^Mode: dev \(development mode\)$/m)
  // One migration, the same bytes staging applied: "the 1 pending migration was", not "all 1 pending migrations were".
  const five = await h.request('POST', '/deployments', { body: { environment: 'solo' } })
  const first = await h.waitFor(five.json().id, ['succeeded', 'failed'])
  t.equal(first.plan?.promotion_gate?.message, 'all 5 pending migrations were applied in staging first')
  const one = await h.request('POST', '/deployments', { body: { environment: 'solo', working_directory: 'app-next' } })
  const done = await h.waitFor(one.json().id, ['succeeded', 'failed'])
  t.equal(done.status, 'succeeded', JSON.stringify(done.report))
  t.match((await h.request('GET', `/deployments/${done.id}/log`)).body, /✓ Promotion gate: the 1 pending migration was applied in staging first/)
  t.equal(done.plan?.promotion_gate?.message, 'the 1 pending migration was applied in staging first')
})

t.test('the Review line is the page\'s deep link; a cancelled deployment reads as cancelled; wording', async (t) => {
  const cli = spawnCli(['deploy', '--env', 'production', '--dir', path.join(FIXTURES, 'app'), '--wait', '--timeout', '5m'], asCi)
  const [, id] = await cli.waitForOutput(/⏸ (dep_\w+) waits for approval in production: 1 more approval needed/)
  const [review] = await cli.waitForOutput(/ {3}Review: +\S+/)
  t.equal(review?.trim(), `Review:  ${server}/ui#/deployments/${id as string}`, 'opens the review page on this deployment, not the API\'s JSON')

  const cancelled = await runCli(['cancel', id as string], asCi)
  t.equal(cancelled.stdout, `${id as string} cancelled: nothing was applied\n`, 'no "now cancelled (0 of 1 approvals)"')
  t.equal((await cli.done).code, 3)
  const status = await runCli(['status', id as string], asCi)
  t.equal(status.code, 3)
  t.match(status.stdout, /status: +cancelled/)
  t.match(status.stdout, /- approval skipped: cancelled by ci-bot before a decision/, 'the approval step is over')
  t.notMatch(status.stdout, /approval running/)
  t.match(status.stdout, /→ production \(deploy mode\)/)
})

t.test('env-status after an inline deploy says the last deployment was an inline upload', async (t) => {
  const run = await runCli(['deploy', '--env', 'dev', '--dir', path.join(FIXTURES, 'app-next'), '--wait'], asCi)
  t.equal(run.code, 0, run.stderr)
  const status = await runCli(['env-status', 'dev'], asCi)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /DRIFTED +20250124140000_add_user_profiles/)
  t.match(status.stdout, /note: dep_\w+ uploaded its migrations inline \(deploy --dir\); this status compares the database with the configured folder app, /)
  t.match(status.stdout, /so migrations only in that upload show as drifted/)
  const json = JSON.parse((await runCli(['env-status', 'dev', '--json'], asCi)).stdout) as { last_deployment: { migrations_from: string } }
  t.equal(json.last_deployment.migrations_from, 'inline')
})

t.test('status piped into head -3 ends quietly (no EPIPE stack trace)', async (t) => {
  const list = (await h.request('GET', '/deployments?limit=1')).json() as { deployments: Array<{ id: string }> }
  const id = list.deployments[0]?.id as string
  const status = ['node', ...cliArgs(['status', id])].join(' ')
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_NO_WARNINGS: '1', ...asCi }
  const head = await execa('bash', ['-c', `set -o pipefail; ${status} | head -3`], { env, extendEnv: false, reject: false })
  t.equal(head.stdout.split('\n').length, 3, 'head printed three lines')
  t.notMatch(head.stderr, /EPIPE|Error|at /, 'nothing on stderr')
  // A reader that closes at once: every write fails with EPIPE.
  const script = `${status} | true; echo "exit \${PIPESTATUS[0]}"`
  const closed = await execa('bash', ['-c', script], { env, extendEnv: false, reject: false })
  t.equal(closed.stdout.trim(), 'exit 0')
  t.equal(closed.stderr, '', 'no stack trace')
})

t.test('dev-db create makes a database with an owner role of its own and prints its URL to export', async (t) => {
  const cwd = t.testdir({ '.data': { 'services.env': `DATABASE_URL=${process.env.DATABASE_URL ?? ''}\n` } })
  const name = `first_hour_${process.pid}`
  // From a folder holding .data/, with nothing else: no URL in the environment.
  const devDb = async (...args: string[]): Promise<{ exitCode: number, stdout: string, stderr: string }> => {
    const argv = cliArgs(['dev-db', 'create', ...args])
    const run = await execa(process.execPath, argv, { cwd, env: { PATH: process.env.PATH ?? '' }, extendEnv: false, reject: false })
    return { exitCode: run.exitCode ?? -1, stdout: run.stdout, stderr: run.stderr }
  }
  const create = await devDb(name, '--var', 'MY_APP_URL')
  t.teardown(async () => {
    await queryDatabase('postgres', `DROP DATABASE IF EXISTS ${name}`).catch(() => {})
    await queryDatabase('postgres', `DROP ROLE IF EXISTS ${name}_owner`).catch(() => {})
  })
  t.equal(create.exitCode, 0, create.stderr)
  const match = /^export MY_APP_URL='(postgres:\/\/[^']+)'$/.exec(create.stdout)
  t.ok(match, 'one line to eval')
  const url = new URL(match?.[1] as string)
  t.equal(url.username, `${name}_owner`)
  t.equal(url.pathname, `/${name}`)
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  const { rows } = await client.query('SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super')
  await client.query('CREATE TABLE mine (id int)')
  await client.end()
  t.same(rows[0], { who: `${name}_owner`, super: false }, 'the URL works, owns its database, and is not a superuser\'s')
  const again = await devDb(name, '--var', 'MY_APP_URL')
  t.equal(again.stdout, create.stdout, 'again: the same URL')
  const taken = await devDb('postgres')
  t.equal(taken.exitCode, 2)
  t.match(taken.stderr, /a database postgres already exists on the local server, owned by \w+ \(not made by dev-db\)/)
})
