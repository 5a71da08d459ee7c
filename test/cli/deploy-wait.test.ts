import path from 'node:path'
import t from 'tap'
import { runCli, spawnCli } from '../helpers/cli.js'
import { FIXTURES, startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

const h = await startHarness()
t.teardown(h.close)
const server = await listenOnLoopback(h)
const asCi = { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('ci-bot') }

t.test('deploy --wait uploads the folder, prints the log live and exits 0 on success', async (t) => {
  const run = await runCli(['deploy', '--env', 'dev', '--dir', path.join(FIXTURES, 'app'), '--wait'], asCi)
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /Created dep_\w+ \(queued\): 5 migrations from .*app → dev/)
  t.match(run.stdout, /🎯 STARTING: Migration Deployer/)
  t.match(run.stdout, /✓ Deploying migration: 20250110090000_init \(/)
  t.match(run.stdout, /✅ COMPLETED: Migration Deployer\nEnvironment: dev\nMigrations Applied: 5/)
  t.notMatch(run.stdout + run.stderr, tokenOf('ci-bot'), 'the token is never printed')
  const id = /Created (dep_\w+)/.exec(run.stdout)?.[1] as string
  const deployment = (await h.request('GET', `/deployments/${id}`)).json()
  t.equal(deployment.status, 'succeeded')
  t.equal(deployment.working_directory, null, 'the migrations went inline, not from the server\'s folder')
})

t.test('deploy --wait exits 1 when the deployment fails, with the failure banner', async (t) => {
  const run = await runCli(['deploy', '--env', 'staging', '--dir', path.join(FIXTURES, 'broken-third'), '--wait'], asCi)
  t.equal(run.code, 1, run.stderr)
  t.match(run.stdout, /✗ Deploying migration: 20250203090000_add_tags failed/)
  t.match(run.stdout, /❌ FAILED: Migration Deployer/)
})

t.test('deploy --wait on a protected environment says who must approve, and exits 3 when rejected', async (t) => {
  const cli = spawnCli(['deploy', '--env', 'production', '--dir', path.join(FIXTURES, 'app'), '--wait', '--timeout', '5m'], asCi)
  const [, id] = await cli.waitForOutput(/⏸ (dep_\w+) waits for approval in production: 1 more approval needed from a token with the role approver \(not ci-bot/)
  t.ok(id)
  await cli.waitForOutput(new RegExp(`Approve: POST ${server.replace(/[.:/]/g, '\\$&')}/deployments/${id as string}/approve`))
  const rejected = await runCli(['reject', id as string, '--reason', 'not today'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('alice') })
  t.equal(rejected.code, 0, rejected.stderr)
  t.match(rejected.stdout, /rejected: nothing was applied/)
  const run = await cli.done
  t.equal(run.code, 3, run.stderr)
  t.match(run.stdout, /⛔ REJECTED: Migration Deployer/)
})

t.test('approve through the CLI releases a waiting deploy --wait, which then exits 0', async (t) => {
  const cli = spawnCli(['deploy', '--env', 'production', '--dir', path.join(FIXTURES, 'app'), '--wait'], asCi)
  const [, id] = await cli.waitForOutput(/⏸ (dep_\w+) waits for approval/)
  const approved = await runCli(['approve', id as string, '--comment', 'LGTM'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('bob') })
  t.equal(approved.code, 0, approved.stderr)
  const run = await cli.done
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /✓ Approval confirmed \(bob\)/)
  t.match(run.stdout, /✅ COMPLETED: Migration Deployer/)

  const status = await runCli(['status', id as string], asCi)
  t.equal(status.code, 0)
  t.match(status.stdout, /status: +succeeded/)
  t.match(status.stdout, /approvals: 1 of 1 bob/)
  const log = await runCli(['log', id as string], asCi)
  t.equal(log.code, 0)
  t.match(log.stdout, /✓ Approval confirmed \(bob\)/)
  const follow = await runCli(['log', id as string, '--follow'], asCi)
  t.equal(follow.code, 0, 'log --follow of a finished deployment prints it and exits like deploy --wait')
  t.equal(follow.stdout, log.stdout, 'the followed log is the same log')
})

t.test('deploy --wait --timeout exits 4 while the deployment still waits for approval', async (t) => {
  const run = await runCli(['deploy', '--env', 'production', '--dir', path.join(FIXTURES, 'app-next'), '--wait', '--timeout', '3s'], asCi)
  t.equal(run.code, 4, run.stderr)
  t.match(run.stdout, /waits for approval in production/)
  t.match(run.stderr, /is still pending_approval after --timeout 3s/)
  const id = /Created (dep_\w+)/.exec(run.stdout)?.[1] as string
  t.equal((await h.request('GET', `/deployments/${id}`)).json().status, 'pending_approval', 'the deployment goes on waiting')
  const cancelled = await runCli(['cancel', id], asCi)
  t.equal(cancelled.code, 0, cancelled.stderr)
  const status = await runCli(['status', id, '--json'], asCi)
  t.equal(status.code, 3, 'status exits 3 for a cancelled deployment')
  t.equal(JSON.parse(status.stdout).status, 'cancelled')
})

t.test('--json prints only the final report', async (t) => {
  const run = await runCli(['deploy', '--env', 'dev', '--dir', path.join(FIXTURES, 'app-next'), '--dry-run', '--wait', '--json'], asCi)
  t.equal(run.code, 0, run.stderr)
  const report = JSON.parse(run.stdout)
  t.equal(report.status, 'success')
  t.equal(report.operation, 'preview-migrations')
  t.equal(report.message, 'Preview only - no changes applied')
  t.equal(report.result.pending_migrations, 1, 'dev has app\'s five; app-next adds one')
})

t.test('bad usage and refused requests exit 2 with a clear message, never showing the token', async (t) => {
  const cases: Array<{ args: string[], env?: Record<string, string>, message: RegExp }> = [
    { args: ['deploy', '--wait'], message: /--env <name> is required/ },
    { args: ['deploy', '--env', 'dev', '--bogus'], message: /unknown option '--bogus'/ },
    { args: ['deploy', '--env', 'dev', '--timeout', '5s'], message: /--timeout applies to --wait/ },
    { args: ['deploy', '--env', 'dev', '--wait', '--timeout', 'soon'], message: /--timeout must be a duration/ },
    { args: ['deploy', '--env', 'dev', '--dir', '/nonexistent/folder'], message: /no Prisma migrations found/ },
    { args: ['reject', 'dep_1'], message: /--reason <text> is required/ },
    { args: ['approve'], message: /missing deployment id/ },
    { args: ['envs'], env: { DEPLOYER_URL: '' }, message: /no server: set DEPLOYER_URL/ },
    { args: ['envs'], env: { DEPLOYER_TOKEN: '' }, message: /no token: set DEPLOYER_TOKEN/ },
    { args: ['deploy', '--env', 'nowhere'], message: /400 UNKNOWN_ENVIRONMENT: unknown environment "nowhere"; valid environments: dev, staging, production/ },
    { args: ['deploy', '--env', 'dev'], env: { DEPLOYER_TOKEN: tokenOf('viewer') }, message: /403 FORBIDDEN: viewer lacks the role/ },
    { args: ['status', 'dep_missing'], message: /404 NOT_FOUND: deployment dep_missing not found/ },
    { args: ['envs', '--token', 'secret-token-that-is-wrong'], env: { DEPLOYER_TOKEN: '' }, message: /401 UNAUTHORIZED/ }
  ]
  const runs = await Promise.all(cases.map(async (c) => await runCli(c.args, { ...asCi, ...c.env })))
  for (const [index, c] of cases.entries()) {
    const run = runs[index] as Awaited<ReturnType<typeof runCli>>
    t.equal(run.code, 2, `${c.args.join(' ')} exits 2`)
    t.match(run.stderr, c.message, c.args.join(' '))
    t.notMatch(run.stdout + run.stderr, /secret-token-that-is-wrong|ci-bot-token|viewer-token/, 'no token in the output')
  }
  const unknown = await runCli(['frobnicate'], asCi)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command "frobnicate"/)
})

t.test('envs and env-status', async (t) => {
  const envs = await runCli(['envs'], asCi)
  t.equal(envs.code, 0, envs.stderr)
  t.match(envs.stdout, /^ENVIRONMENT +MODE/)
  t.match(envs.stdout, /production +deploy +prisma +protected \(1 × approver\)/)
  const status = await runCli(['env-status', 'dev'], asCi)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /^dev: up to date \(5 applied, 0 pending/)
  const json = await runCli(['env-status', 'staging', '--json'], asCi)
  t.equal(JSON.parse(json.stdout).environment, 'staging')
})
