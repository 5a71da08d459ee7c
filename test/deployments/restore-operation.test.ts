import t from 'tap'
import { pgDumpText } from '../helpers/database-snapshots.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'

async function create (h: Harness, body: Record<string, unknown>, as: 'ci-bot' | 'admin' = 'ci-bot'): Promise<string> {
  const response = await h.request('POST', '/deployments', { as, body })
  if (response.statusCode !== 202) throw new Error(response.body)
  return response.json().id as string
}

const migrations = [
  { name: '20250101000000_accounts', sql: 'CREATE TABLE accounts (id serial primary key, email text not null);\n' },
  { name: '20250102000000_orders', sql: 'CREATE TYPE order_state AS ENUM (\'open\', \'paid\');\nCREATE TABLE orders (id serial primary key, account_id int, state order_state not null default \'open\');\n' },
  { name: '20250103000000_orders_fk', sql: 'ALTER TABLE orders ADD CONSTRAINT orders_account_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);\n' }
]

t.test('restore a pre-deployment backup through the approval gate: schema and data as before', async (t) => {
  const dir = t.testdir({})
  const backup = { backup_before_migrate: true, backup: { provider: 'pg_dump', dir }, on_failure: 'restore_backup' }
  const h = await startHarness({
    environments: {
      production: { ...backup, protected: true, approval: { required_approvals: 1, roles: ['approver'] } },
      staging: { ...backup }
    }
  })
  t.teardown(h.close)
  const db = h.targets.production as string
  await queryDatabase(db, 'CREATE TABLE legacy (id int); INSERT INTO legacy VALUES (1), (2), (3)')
  const schemaBefore = await pgDumpText(db, ['--schema-only'])

  const deploy = await create(h, { environment: 'production', migrations })
  await h.waitFor(deploy, ['pending_approval'])
  await h.request('POST', `/deployments/${deploy}/approve`, { as: 'alice' })
  const deployed = await h.waitFor(deploy, ['succeeded', 'failed'])
  t.equal(deployed.status, 'succeeded', JSON.stringify(deployed.report))
  const backupId = (deployed.report as { result: { backup_id: string } }).result.backup_id
  await queryDatabase(db, `INSERT INTO accounts (email) VALUES ('a@x'); DELETE FROM legacy WHERE id = 3`)

  const restoreId = await create(h, { environment: 'production', operation: 'restore-backup', backup_id: backupId })
  const pending = await h.waitFor(restoreId, ['pending_approval', 'failed'])
  t.equal(pending.status, 'pending_approval', JSON.stringify(pending.report))
  t.equal(pending.operation, 'restore-backup')
  t.equal(pending.backup_id, backupId)
  const plan = pending.plan?.restore
  t.equal(plan?.backup_id, backupId)
  t.ok((plan?.backup_age_seconds ?? -1) >= 0)
  t.ok((plan?.backup_size_bytes ?? 0) > 0)
  t.same(plan?.unapplies.map((m) => m.name), migrations.map((m) => m.name), 'the approver sees which migrations the restore un-applies')
  t.equal((await h.request('POST', `/deployments/${restoreId}/approve`, { as: 'ci-bot' })).statusCode, 403)

  t.equal((await h.request('POST', `/deployments/${restoreId}/approve`, { as: 'alice' })).statusCode, 200)
  const restored = await h.waitFor(restoreId, ['succeeded', 'failed'])
  t.equal(restored.status, 'succeeded', JSON.stringify(restored.report))
  const report = restored.report as {
    status: string
    operation: string
    message: string
    result: { backup_id: string; pre_restore_backup_id: string; migrations_unapplied: string[] }
  }
  t.equal(report.operation, 'restore-backup')
  t.equal(report.result.backup_id, backupId)
  t.match(report.result.pre_restore_backup_id, /^backup-/, 'the state replaced was backed up first')
  t.not(report.result.pre_restore_backup_id, backupId)
  t.same(report.result.migrations_unapplied, migrations.map((m) => m.name))
  t.equal(report.message, `Restored production to ${backupId}`)

  t.equal(await pgDumpText(db, ['--schema-only']), schemaBefore, 'schema as before the deployment')
  t.same(await queryDatabase(db, 'SELECT id FROM legacy ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }], 'data as before the deployment')
  const log = (await h.request('GET', `/deployments/${restoreId}/log`)).body
  t.match(log, /✓ Restore plan: backup-\S+ \(taken .*\) un-applies 3 migrations/)
  t.match(log, /✓ Restored backup: /)
  t.match(log, /✓ Verification: history table matches the backup/)

  // The restore itself can be undone: its pre-restore backup restores the deployed state.
  const undo = await create(h, { environment: 'production', operation: 'restore-backup', backup_id: report.result.pre_restore_backup_id }, 'admin')
  await h.waitFor(undo, ['pending_approval'])
  await h.request('POST', `/deployments/${undo}/approve`, { as: 'alice' })
  t.equal((await h.waitFor(undo, ['succeeded', 'failed'])).status, 'succeeded')
  t.same(await queryDatabase(db, 'SELECT email FROM accounts'), [{ email: 'a@x' }])

  const status = (await h.request('GET', '/environments/production/status')).json()
  t.equal(status.last_deployment.id, undo)
  t.equal(status.last_deployment.status, 'succeeded')
  t.match(status.last_backup.id, /^backup-/)
  t.equal(status.last_backup.restore_command, `migration-deployer restore --env production --backup ${status.last_backup.id as string}`)

  // A backup of another environment is refused at once.
  const stagingDeploy = await create(h, { environment: 'staging', migrations })
  const stagingDone = await h.waitFor(stagingDeploy, ['succeeded', 'failed'])
  const stagingBackup = (stagingDone.report as { result: { backup_id: string } }).result.backup_id
  const wrong = await h.request('POST', '/deployments', { body: { environment: 'production', operation: 'restore-backup', backup_id: stagingBackup } })
  t.equal(wrong.statusCode, 400)
  t.equal(wrong.json().error.code, 'BACKUP_OF_ANOTHER_ENVIRONMENT')
  const unknown = await h.request('POST', '/deployments', { body: { environment: 'production', operation: 'restore-backup', backup_id: 'backup-20200101-000000-abcd' } })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().error.code, 'UNKNOWN_BACKUP')
  const missing = await h.request('POST', '/deployments', { body: { environment: 'production', operation: 'restore-backup' } })
  t.equal(missing.statusCode, 400)
  t.match(missing.json().error.message, /backup_id/)
})
