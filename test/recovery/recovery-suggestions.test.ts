import t from 'tap'
import { CLIENT_COMMANDS } from '../../src/cli/client/index.js'
import { runCli } from '../helpers/cli.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, tokenOf, type Harness } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

interface ErrorReport {
  status: string
  error: string
  result: Record<string, unknown>
  recovery: { backup_id: string | null; rollback_command: string | null; suggestions: string[] }
}

/**
 * Every suggestion must name something that exists: an endpoint of this API (method and path
 * template), a CLI command, or a file of the workspace. Returns the problems found.
 */
function checkSuggestion (h: Harness, suggestion: string): string[] {
  const problems: string[] = []
  for (const [, method, url] of suggestion.matchAll(/\b(GET|POST) (\/[^\s,;)]+)/g)) {
    const path = (url as string).replace(/[.:]$/, '').split('?')[0] as string
    if (!h.app.hasRoute({ method: method as 'GET' | 'POST', url: path.replace(/\/dep_\w+/, '/:id').replace(/\/environments\/[^/]+/, '/environments/:name').replace(/\/migrations\/[^/]+\/resolve/, '/migrations/:migration/resolve') })) {
      problems.push(`no route ${method as string} ${path} (in: ${suggestion})`)
    }
  }
  for (const [, command] of suggestion.matchAll(/migration-deployer ([a-z-]+)/g)) {
    if (!CLIENT_COMMANDS.some((c) => c.name === command)) problems.push(`no CLI command ${command as string} (in: ${suggestion})`)
  }
  return problems
}

t.test('every error report names only things that exist, and its rollback_command runs', async (t) => {
  const dir = t.testdir({})
  const backup = { backup_before_migrate: true, backup: { provider: 'pg_dump', dir }, on_failure: 'restore_backup' }
  const h = await startHarness({
    environments: {
      staging: { working_directory: 'app', ...backup },
      broken: { working_directory: 'broken-third', ...backup, on_failure: 'none' },
      noback: { working_directory: 'app', backup_before_migrate: true, backup: { provider: 'pg_dump', dir, pg_dump_path: '/nonexistent/pg_dump' } },
      down: { working_directory: 'app', database_url_env: 'DOWN_DATABASE_URL', health_check: { timeout: '2s' } },
      drifted: { working_directory: 'app' },
      production: { working_directory: 'app', protected: true, approval: { required_approvals: 1, roles: ['approver'] } }
    }
  })
  t.teardown(h.close)
  h.runtime.pipeline.env.DOWN_DATABASE_URL = 'postgres://u:p@127.0.0.1:1/none'
  const server = await listenOnLoopback(h)

  const reports: ErrorReport[] = []
  async function failing (body: Record<string, unknown>): Promise<ErrorReport> {
    const created = await h.request('POST', '/deployments', { body })
    const done = await h.waitFor(created.json().id, ['succeeded', 'failed', 'pending_approval'])
    if (done.status === 'pending_approval') {
      await h.request('POST', `/deployments/${done.id}/reject`, { as: 'alice', body: { reason: 'no' } })
      return (await h.request('GET', `/deployments/${done.id}`)).json().report as unknown as ErrorReport
    }
    t.equal(done.status, 'failed', `${JSON.stringify(body)} fails`)
    return done.report as unknown as ErrorReport
  }
  // A migration failure after a backup (restored), a plain migration failure, a backup failure,
  // an unreachable target, drift, a rejection, a syntax error.
  const restoredFailure = await failing({ environment: 'staging', migrations: [{ name: '20250101000000_ok', sql: 'CREATE TABLE ok (id int);' }, { name: '20250102000000_bad', sql: 'INSERT INTO nope VALUES (1);' }] })
  reports.push(restoredFailure)
  reports.push(await failing({ environment: 'broken' }))
  reports.push(await failing({ environment: 'noback' }))
  reports.push(await failing({ environment: 'down' }))
  const first = await h.request('POST', '/deployments', { body: { environment: 'drifted' } })
  await h.waitFor(first.json().id, ['succeeded'])
  await queryDatabase(h.targets.drifted as string, `UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = '20250110090000_init'`)
  reports.push(await failing({ environment: 'drifted' }))
  reports.push(await failing({ environment: 'production' }))
  reports.push(await failing({ environment: 'staging', migrations: [{ name: '20250101000000_broken', sql: 'CREATE TABLE (' }] }))

  for (const report of reports) {
    t.equal(report.status, 'error')
    t.ok(report.recovery.suggestions.length > 0, `${report.error}: has suggestions`)
    for (const suggestion of report.recovery.suggestions) t.same(checkSuggestion(h, suggestion), [], suggestion)
    if (report.recovery.rollback_command !== null) t.same(checkSuggestion(h, report.recovery.rollback_command), [])
  }

  // The rollback command is exactly `migration-deployer restore --env <env> --backup <id>`, and it runs.
  t.equal(restoredFailure.recovery.rollback_command, `migration-deployer restore --env staging --backup ${restoredFailure.recovery.backup_id as string}`)
  const argv = (restoredFailure.recovery.rollback_command as string).split(' ').slice(1)
  const run = await runCli([...argv, '--wait'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('ci-bot') })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /Created dep_\w+ \(queued\): restore backup-\S+ → staging/)
  t.match(run.stdout, /✓ Restored backup: backup-/)
  const usage = await runCli(['restore', '--env', 'staging'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('ci-bot') })
  t.equal(usage.code, 2, 'a restore without --backup is a usage error')

  // `status --env` shows the last deployment and the last backup with the command that restores it.
  const status = await runCli(['status', '--env', 'staging'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('viewer') })
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /^staging: /)
  t.match(status.stdout, /last deployment: dep_\w+ restore-backup succeeded/)
  t.match(status.stdout, /last backup: +backup-\S+ .*restore: migration-deployer restore --env staging --backup backup-/)
})
