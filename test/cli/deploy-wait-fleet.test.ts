import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { cliArgs } from '../helpers/built-source.js'
import { runCli } from '../helpers/cli.js'
import { databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { ALL, createCatalog, fleetEnvironment } from '../helpers/fleet-fixtures.js'
import { PROJECT_ROOT, startHarness, tokenOf, type Harness } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { tenantUrlTemplate, TenantDatabases } from '../helpers/tenant-databases.js'

// `deploy --wait` on a fleet (SPEC §14, issue 21): a progress line with the counts per status
// while it waits — redrawn in place on a terminal, one line per change in a CI log — and the
// fleet's summary at the end. Through the real CLI against a real service.
const tenants = new TenantDatabases()
let catalog: string
let h: Harness
let asCi: Record<string, string>
let broken: string
const dir = mkdtempSync(path.join(tmpdir(), 'md-fleet-cli-'))

t.before(async () => {
  for (const m of ALL) {
    mkdirSync(path.join(dir, 'migrations', m.name), { recursive: true })
    writeFileSync(path.join(dir, 'migrations', m.name, 'migration.sql'), m.sql)
  }
  const names = await tenants.clone(await tenants.template([]), 'md_tcli', 5)
  broken = names[3] as string
  await queryDatabase(broken, 'CREATE TABLE orders (id int)')
  catalog = await createCatalog({ cli: names }, [])
  h = await startHarness({
    environments: { cli: fleetEnvironment('cli', { rollout: { canary: 1, batch_size: 2, concurrency: 1, max_failures: 3 } }) },
    env: { FLEET_CATALOG_URL: databaseUrl(catalog), FLEET_TENANT_URL: tenantUrlTemplate() }
  })
  asCi = { DEPLOYER_URL: await listenOnLoopback(h), DEPLOYER_TOKEN: tokenOf('ci-bot') }
})

t.teardown(async () => {
  await h?.close()
  await tenants.drop()
  if (catalog !== undefined) await dropDatabase(catalog)
  rmSync(dir, { recursive: true, force: true })
})

const PROGRESS = /^Fleet: (\d+)\/5 done · (\d+) succeeded · (\d+) failed · (\d+) skipped · (\d+) running · (\d+) pending$/

t.test('in a CI log (stdout not a terminal): one progress line per change, the failed target by name, then the summary', async (t) => {
  const run = await runCli(['deploy', '--env', 'cli', '--dir', path.join(dir, 'migrations'), '--wait'], asCi)
  t.equal(run.code, 1, 'a target failed: the deployment failed')
  t.notOk(run.stdout.includes('\r') || run.stdout.includes('\u001b'), 'nothing is redrawn in a log')
  const lines = run.stdout.split('\n')
  const progress = lines.filter((line) => PROGRESS.test(line))
  t.ok(progress.length >= 5, `a line per change (${progress.length}): ${progress.join(' | ')}`)
  t.ok(progress.every((line, i) => i === 0 || line !== progress[i - 1]), 'never the same line twice in a row')
  const done = progress.map((line) => Number(PROGRESS.exec(line)?.[1]))
  t.ok(done.every((n, i) => i === 0 || n >= (done[i - 1] as number)), `the done count only grows: ${done.join(', ')}`)
  t.equal(progress.at(-1), 'Fleet: 5/5 done · 4 succeeded · 1 failed · 0 skipped · 0 running · 0 pending')
  t.ok(lines.some((line) => line.startsWith(`✗ Target ${broken}: failed: Migration 20250103000000_orders failed`)), 'the failed target keeps its line, with why')
  t.notOk(lines.some((line) => line.startsWith('✓ Target ')), 'a target that succeeded shows only in the counts')
  t.ok(lines.some((line) => line.startsWith('▶ Canary: ')), 'the rollout\'s own lines are there')
  const summary = lines.indexOf('Fleet summary: 4 of 5 targets succeeded, 1 failed, 0 skipped')
  t.ok(summary > lines.indexOf(progress.at(-1) as string), 'it ends with the summary')
  t.match(lines[summary + 1], /^The 1 that did not succeed: GET \/deployments\/dep_\w+\/targets\?status=failed \(and skipped\); retry them: POST \/deployments\/dep_\w+\/retry$/)
  t.notMatch(run.stdout + run.stderr, /postgres(ql)?:\/\//, 'no target URL')
})

t.test('on a terminal: one progress line, redrawn in place, and the summary under it', async (t) => {
  // script(1) gives the CLI a pseudo-terminal as stdout, as a person's shell would.
  const cli = [process.execPath, ...cliArgs(['deploy', '--env', 'cli', '--dir', path.join(dir, 'migrations'), '--wait'])]
  const { stdout } = await promisify(execFile)('script', ['-qec', cli.join(' '), '/dev/null'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', TERM: 'dumb', ...asCi }
  }).catch((error: { stdout: string, code: number }) => ({ stdout: error.stdout, code: error.code }))
  const redraws = stdout.split('\r\u001b[2K').slice(1)
  t.ok(redraws.length >= 5, `the line is redrawn in place (${redraws.length} times)`)
  const lastFrame = redraws.at(-1) as string
  t.match(lastFrame, /^Fleet: 5\/5 done · 4 succeeded · 1 failed · 0 skipped · 0 running · 0 pending\r?\n/, 'the last frame is the final count, then a new line')
  t.ok(redraws.every((frame) => PROGRESS.test(frame.split(/\r?\n/).at(-1) as string) || /\n$/.test(frame)), 'each frame ends on the progress line')
  t.match(stdout, new RegExp(`\\r\\u001b\\[2K✗ Target ${broken}: failed: [^\\n]*\\r?\\nFleet: `), 'a log line prints above the progress line, which is drawn again')
  t.match(stdout, /Fleet summary: 4 of 5 targets succeeded, 1 failed, 0 skipped/)
})
