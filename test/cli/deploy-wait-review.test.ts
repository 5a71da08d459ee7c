import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runCli, spawnCli } from '../helpers/cli.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

t.test('deploy --wait prints what the plan will do: the predicted failure, locks, rewrites, the schema change', async (t) => {
  const h = await startHarness({
    environments: {
      production: {
        protected: true,
        approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
        health_check: { checks: ['connectivity'], timeout: '5s' },
        backup_before_migrate: false,
        rehearsal: { on_prediction: 'warn' }
      }
    }
  })
  t.teardown(h.close)
  await queryDatabase(h.targets.production as string, 'CREATE TABLE "User" (id serial PRIMARY KEY, email text); INSERT INTO "User" (email) VALUES (NULL), (NULL), (\'a@x\');')
  const server = await listenOnLoopback(h)
  const dir = mkdtempSync(path.join(tmpdir(), 'md-review-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(path.join(dir, '20250601000000_email_required'))
  writeFileSync(path.join(dir, '20250601000000_email_required', 'migration.sql'), 'ALTER TABLE "User" ALTER COLUMN email SET NOT NULL;\nALTER TABLE "User" ADD COLUMN score float8 DEFAULT random();\n')

  const cli = spawnCli(['deploy', '--env', 'production', '--dir', dir, '--wait', '--timeout', '5m'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('ci-bot') })
  const [, id] = await cli.waitForOutput(/⏸ (dep_\w+) waits for approval in production/)
  const rejected = await runCli(['reject', id as string, '--reason', 'fix the NULLs first'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('alice') })
  t.equal(rejected.code, 0, rejected.stderr)
  const run = await cli.done
  t.equal(run.code, 3, run.stderr)
  t.match(run.stdout, /What it will do:\n {3}Preflight: 1 check of the target's rows, 1 predicted to fail\n {5}✗ 20250601000000_email_required: 2 rows of "User" have NULL in "email"\n/)
  t.match(run.stdout, / {3}Rehearsal: passed in [\d.]+s on a scratch copy\n {5}Locks: .+\n {5}Rewrites: "User"\n {5}Schema: altered column public\."User"\.email, added column public\."User"\.score\n/)
})
