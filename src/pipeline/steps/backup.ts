import { BackupError, backupRecord, pruneBackups, takeBackup } from '../../backup/index.js'
import type { EnvironmentConfig } from '../../config/load.js'
import { safeErrorMessage } from '../../lib/mask-secrets.js'
import { backupOfDeployment, recordBackup, type BackupRow } from '../../store/backups.js'
import type { DeploymentRow } from '../../domain/index.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRun } from '../deployment-run.js'
import { formatSeconds } from '../human-log.js'

/** Whether this deployment takes a backup before applying, and if not, why not (for the step's detail). */
export function backupDecision (deployment: Pick<DeploymentRow, 'skip_backup' | 'operation'>, environment: EnvironmentConfig): { take: boolean, reason: string } {
  // A restore always backs up the state it replaces first, so the restore itself can be undone.
  const restoring = deployment.operation === 'restore-backup'
  if (!restoring && environment.mode === 'dev') return { take: false, reason: 'dev mode skips backups' }
  if (!restoring && !environment.backup_before_migrate) return { take: false, reason: 'backup_before_migrate is off for this environment' }
  if (environment.backup.provider === 'none') return { take: false, reason: 'backup.provider is none' }
  if (deployment.skip_backup) return { take: false, reason: 'skip_backup was requested' }
  return { take: true, reason: '' }
}

/**
 * Takes, verifies, records and prunes the backup taken right before applying (under the migration
 * lock, so it is the state the migrations start from). A failure aborts the deployment with the
 * seed's backup-failure shape; nothing has been applied.
 */
export async function runBackupStep (run: DeploymentRun): Promise<BackupRow | null> {
  const { deployment, environment, recorder } = run
  const db = run.ctx.pool
  const decision = backupDecision(deployment, environment)
  if (!decision.take) {
    await recorder.finishStep('backup', 'skipped', decision.reason)
    if (deployment.skip_backup && environment.protected) await recorder.log(`⚠ Backup: skipped (${decision.reason})`)
    return null
  }
  // A resumed apply (after a worker died) keeps the backup of the state before its first migration:
  // a new one would capture a half-applied database.
  const earlier = await backupOfDeployment(db, deployment.id, run.fleetTarget)
  if (earlier !== undefined) {
    await recorder.finishStep('backup', 'passed', `${earlier.id} (taken before the interruption, kept)`)
    await recorder.log(`✓ Backup kept: ${earlier.id} (taken before the interruption)`)
    return earlier
  }
  await recorder.startStep('backup', `provider ${environment.backup.provider}`)
  let backup: BackupRow
  try {
    const result = await takeBackup(environment.backup, { databaseUrl: run.databaseUrl(), environment: environment.name, baseDir: run.ctx.config.base_dir })
    if (result === null) {
      await recorder.finishStep('backup', 'skipped', 'backup.provider is none')
      return null
    }
    backup = await recordBackup(db, { ...backupRecord(result, environment.name, deployment.id), target: run.fleetTarget })
  } catch (error) {
    const message = safeErrorMessage(error)
    await recorder.log(`✗ Backup failed: ${message}`)
    throw new DeploymentFailure(
      {
        error: `Backup failed: ${message}`,
        suggestions: [
          "Nothing was applied. Fix the backup (pg_dump on the worker's PATH or backup.pg_dump_path, disk space in backup.dir, the backup.command) and deploy again",
          'Or deploy with skip_backup: true if you accept deploying without a backup (recorded in the audit trail)'
        ],
        extraResult: { backup_error: message }
      },
      error instanceof BackupError ? error : undefined
    )
  }
  const size = backup.size_bytes === null ? '' : `, ${(backup.size_bytes / 1024).toFixed(1)} KiB`
  await recorder.finishStep(
    'backup',
    'passed',
    `${backup.id} (${environment.backup.provider}${size}, verified ${String(backup.verified)}, ${formatSeconds(backup.duration_ms)})`
  )
  await recorder.log(`✓ Backup created: ${backup.id}`, 'backup_created', {
    backup_id: backup.id,
    size_bytes: backup.size_bytes,
    duration_ms: backup.duration_ms
  })
  const pruned = await pruneBackups(db, environment.name, environment.backup.keep).catch(() => [])
  if (pruned.length > 0) await recorder.event('backups_pruned', { backup_ids: pruned, keep: environment.backup.keep })
  return backup
}
