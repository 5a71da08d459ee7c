import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { BackupError } from '../../src/backup/backup-error.js'
import { createPgDumpBackup } from '../../src/backup/pg-dump.js'
import { pruneBackups } from '../../src/backup/prune.js'
import { RestoreError } from '../../src/backup/restore-error.js'
import { backupRecord, restoreRecordedBackup } from '../../src/backup/take-backup.js'
import type { BackupResult } from '../../src/backup/types.js'
import { getBackup, listBackups, markBackupDeleted, recordBackup } from '../../src/store/backups.js'
import { insertDeployment } from '../../src/store/deployments.js'
import { createControlPool } from '../../src/store/pool.js'
import { createControlDatabase, createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'

const dir = mkdtempSync(path.join(tmpdir(), 'md-backup-store-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

const control = await createControlDatabase()
const pool = createControlPool(databaseUrl(control), { max: 2 })
t.teardown(async () => {
  await pool.end()
  await dropDatabase(control)
})
const target = await createEmptyDatabase('md_backup_store')
t.teardown(() => dropDatabase(target))
await queryDatabase(target, 'CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2)')

/** Four real backups of the target, recorded one minute apart (oldest first). */
async function takeFour (environment: string, deploymentId: string | null): Promise<BackupResult[]> {
  const backups: BackupResult[] = []
  for (let i = 0; i < 4; i++) {
    const backup = await createPgDumpBackup({ databaseUrl: databaseUrl(target), dir, environment })
    await recordBackup(pool, { ...backupRecord(backup, environment, deploymentId), created_at: new Date(Date.UTC(2025, 0, 24, 10, i)) })
    backups.push(backup)
  }
  return backups
}

t.test('recordBackup, getBackup and listBackups', async (t) => {
  const deployment = await insertDeployment(pool, {
    id: 'dep_backup_store_1',
    operation: 'deploy-migrations',
    environment: 'staging',
    mode: 'deploy',
    requested_by: 'ci-bot',
    dry_run: false,
    skip_backup: false,
    skip_health_check: false,
    working_directory: null,
    source: null,
    inline_migrations: null
  }, { actor: 'ci-bot', data: {} })
  const [first] = await takeFour('staging', deployment.id)
  const row = await getBackup(pool, (first as BackupResult).backupId)
  t.match(row, {
    id: first?.backupId,
    environment: 'staging',
    deployment_id: deployment.id,
    provider: 'pg_dump',
    file: first?.file,
    size_bytes: first?.sizeBytes,
    duration_ms: first?.durationMs,
    verified: true,
    server_version: first?.serverVersion,
    deleted_at: null
  })
  t.type(row?.size_bytes, 'number')
  t.ok(row?.created_at instanceof Date)
  t.equal(await getBackup(pool, 'backup-19990101-000000-0000'), undefined)

  const listed = await listBackups(pool, 'staging', { limit: 10 })
  t.equal(listed.length, 4)
  t.same(listed.map((b) => b.created_at.toISOString()), ['2025-01-24T10:03:00.000Z', '2025-01-24T10:02:00.000Z', '2025-01-24T10:01:00.000Z', '2025-01-24T10:00:00.000Z'], 'newest first')
  t.equal((await listBackups(pool, 'staging', { limit: 2 })).length, 2)
  t.same(await listBackups(pool, 'nowhere', { limit: 10 }), [])

  const error = await recordBackup(pool, { ...backupRecord(first as BackupResult, 'staging', 'dep_missing'), id: 'backup-20250124-100000-ffff' }).catch((e: unknown) => e)
  t.match((error as Error).message, /foreign key/, 'deployment_id must name a deployment')
})

t.test('pruneBackups keeps the newest `keep` and removes the older files and rows', async (t) => {
  const production = await takeFour('production', null)
  const other = await takeFour('other', null)
  const [oldest, second, third, newest] = production as [BackupResult, BackupResult, BackupResult, BackupResult]

  const removed = await pruneBackups(pool, 'production', 2)
  t.same(removed, [second.backupId, oldest.backupId], 'the two oldest, newest first')
  t.notOk(existsSync(oldest.file as string))
  t.notOk(existsSync(second.file as string))
  t.ok(existsSync(third.file as string))
  t.ok(existsSync(newest.file as string))
  t.same((await listBackups(pool, 'production', { limit: 10 })).map((b) => b.id), [newest.backupId, third.backupId])
  t.ok((await getBackup(pool, oldest.backupId))?.deleted_at instanceof Date, 'the row stays, marked deleted')
  t.equal((await getBackup(pool, third.backupId))?.deleted_at, null)
  for (const backup of other) t.ok(existsSync(backup.file as string), 'other environments are untouched')
  t.equal((await listBackups(pool, 'other', { limit: 10 })).length, 4)

  t.same(await pruneBackups(pool, 'production', 2), [], 'pruning again removes nothing')
  t.equal(await markBackupDeleted(pool, oldest.backupId), false, 'already marked')

  // A file someone already deleted counts as deleted.
  unlinkSync(third.file as string)
  t.same(await pruneBackups(pool, 'production', 1), [third.backupId])

  const pruned = await getBackup(pool, oldest.backupId)
  const error = await restoreRecordedBackup(pruned!, { databaseUrl: databaseUrl(target), environment: 'production' }).catch((e: unknown) => e)
  t.ok(error instanceof RestoreError)
  t.match((error as Error).message, `backup ${oldest.backupId} was pruned on`)
  const wrongEnv = await restoreRecordedBackup((await getBackup(pool, newest.backupId))!, { databaseUrl: databaseUrl(target), environment: 'staging' }).catch((e: unknown) => e)
  t.match((wrongEnv as Error).message, `backup ${newest.backupId} belongs to production, not staging`)

  const restored = await restoreRecordedBackup((await getBackup(pool, newest.backupId))!, { databaseUrl: databaseUrl(target), environment: 'production' })
  t.type(restored.durationMs, 'number')

  const bad = await pruneBackups(pool, 'production', -1).catch((e: unknown) => e)
  t.ok(bad instanceof BackupError)
})
