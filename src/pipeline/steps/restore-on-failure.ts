import { restoreRecordedBackup } from '../../backup/index.js'
import type { RollbackStatus } from '../../domain/index.js'
import { safeErrorMessage } from '../../lib/mask-secrets.js'
import type { BackupRow } from '../../store/backups.js'
import type { DeploymentRun } from '../deployment-run.js'
import { formatSeconds } from '../human-log.js'

export interface RollbackOutcome {
  initiated: boolean
  /** The report's `rollback_status`: `success`, `failed`, or null when no rollback ran. */
  status: RollbackStatus
  /** Why the rollback failed, or why none could run although one was configured. */
  error?: string
}

/**
 * `on_failure: restore_backup`: returns the target to the backup taken right before applying
 * (schema, data and history table). Reports what happened; never throws, because the deployment
 * has already failed and the report must say how the rollback went.
 */
export async function restoreOnFailure (run: DeploymentRun, backup: BackupRow | null): Promise<RollbackOutcome> {
  const { environment, recorder } = run
  if (environment.on_failure !== 'restore_backup') return { initiated: false, status: null }
  if (backup === null) {
    await recorder.log('⚠ Rollback: no backup was taken, so nothing can be restored')
    return { initiated: false, status: null, error: 'no backup was taken, so nothing could be restored' }
  }
  await recorder.startStep('rollback', `restoring ${backup.id}`)
  await recorder.log(`↺ Rollback: restoring backup ${backup.id}`, 'rollback_started', { backup_id: backup.id })
  try {
    const target = { databaseUrl: run.databaseUrl(), environment: environment.name, pgRestorePath: environment.backup.pg_restore_path }
    const { durationMs } = await restoreRecordedBackup(backup, target)
    await recorder.finishStep('rollback', 'passed', `restored ${backup.id} in ${formatSeconds(durationMs)}`)
    const took = formatSeconds(durationMs)
    const data = { backup_id: backup.id, duration_ms: Math.round(durationMs) }
    await recorder.log(`✓ Rollback: database restored to ${backup.id} (${took})`, 'rollback_finished', data)
    return { initiated: true, status: 'success' }
  } catch (error) {
    const message = safeErrorMessage(error)
    await recorder.finishStep('rollback', 'failed', message)
    await recorder.log(`✗ Rollback failed: ${message}`, 'rollback_failed', { backup_id: backup.id })
    return { initiated: true, status: 'failed', error: message }
  }
}
