import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { checkDrift } from '../../src/pipeline/drift-check.js'
import { runCli, spawnCli } from '../helpers/cli.js'
import { databaseUrl } from '../helpers/databases.js'
import { FIXTURES, startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

// A freeze until 2099: a deployment to `frozen` waits for its window whatever today is, no fake time needed.
const h = await startHarness({
  environments: {
    frozen: { working_directory: 'app', windows: { timezone: 'Europe/Berlin', deny: [{ from: '2000-01-01 00:00', to: '2099-01-01 00:00', reason: 'test freeze' }] } },
    watched: { working_directory: 'app', drift_check: { every: '15m' } }
  }
})
t.teardown(h.close)
const server = await listenOnLoopback(h)
const as = (name: 'ci-bot' | 'admin' | 'viewer'): Record<string, string> => ({ DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf(name) })

t.test('deploy --wait says a deployment waits for its window, when it starts and how to override; status shows it; override-window starts it', async (t) => {
  const cli = spawnCli(['deploy', '--env', 'frozen', '--dir', path.join(FIXTURES, 'app'), '--wait', '--timeout', '5m'], as('ci-bot'))
  await cli.waitForOutput(/⏳ Waiting for the deployment window: inside the deny window .*test freeze/)
  const [, id] = await cli.waitForOutput(/⏳ (dep_\w+) is approved and waits for the deployment window of frozen: it starts by itself at 2098-12-31T23:00:00\.000Z \(in \d+ d( \d+ h)?\)/)
  t.ok(id, 'the wait is explained once the deployment waits')
  await cli.waitForOutput(new RegExp(`Start it now \\(admin, audited\\): migration-deployer override-window ${id as string} --reason`))

  const status = await runCli(['status', id as string], as('viewer'))
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /status: +waiting_for_window/)
  t.match(status.stdout, /it starts by itself at 2098-12-31T23:00:00\.000Z/)

  const noReason = await runCli(['override-window', id as string], as('admin'))
  t.equal(noReason.code, 2)
  t.match(noReason.stderr, /--reason <text> is required/)
  const overridden = await runCli(['override-window', id as string, '--reason', 'INC-4711 hotfix'], as('admin'))
  t.equal(overridden.code, 0, overridden.stderr)
  t.match(overridden.stdout, new RegExp(`${id as string}: deployment window overridden \\(INC-4711 hotfix\\); now queued`))

  const run = await cli.done
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /⚠ Deployment window overridden by admin: INC-4711 hotfix/)
  t.match(run.stdout, /✅ COMPLETED: Migration Deployer/)
})

t.test('env-status shows the drift watch: clean, then the objects that drifted, by name', async (t) => {
  const target = new pg.Client({ connectionString: databaseUrl(h.targets.watched as string) })
  await target.connect()
  t.teardown(async () => { await target.end() })
  const before = await runCli(['env-status', 'watched'], as('viewer'))
  t.equal(before.code, 0, before.stderr)
  t.match(before.stdout, /drift watch: +unknown \(not checked yet\)/)

  t.match(await checkDrift(h.runtime.pipeline, 'watched'), { outcome: 'no_baseline' })
  await target.query('CREATE TABLE hotfix_by_hand (id int)')
  t.match(await checkDrift(h.runtime.pipeline, 'watched'), { outcome: 'drifted' })
  const drifted = await runCli(['env-status', 'watched'], as('viewer'))
  t.equal(drifted.code, 0, drifted.stderr)
  t.match(drifted.stdout, /drift watch: +DRIFTED since \S+: 2 objects differ from its first reading \(last checked \S+\)\n {2}ADDED +column public\.hotfix_by_hand\.id\n {2}ADDED +table public\.hotfix_by_hand/)

  await target.query('DROP TABLE hotfix_by_hand')
  t.match(await checkDrift(h.runtime.pipeline, 'watched'), { outcome: 'clean' })
  t.match((await runCli(['status', '--env', 'watched'], as('viewer'))).stdout, /drift watch: +clean \(last checked \S+\)/)
})
