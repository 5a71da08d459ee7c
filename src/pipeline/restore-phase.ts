import { readArchiveToc, readBackupHistory, restoreRecordedBackup } from '../backup/index.js'
import type { Plan, RestorePlan } from '../domain/index.js'
import { handlerFor } from '../handlers/index.js'
import type { MigrationHandler } from '../handlers/types.js'
import { sha256Hex } from '../lib/checksum.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { getBackup, type BackupRow } from '../store/backups.js'
import { healthCheckSuggestions } from './recovery-suggestions.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRun } from './deployment-run.js'
import type { Ending } from './end-deployment.js'
import { formatSeconds } from './human-log.js'
import type { PlanOutcome } from './operation.js'
import { restorePreviewReport, restoreReport } from './report.js'
import { runBackupStep } from './steps/backup.js'
import { runHealthCheckStep } from './steps/health-check-step.js'
import { runPreamble } from './steps/preamble.js'

type HistoryIdentity = Array<{ name: string, checksum: string }>

/**
 * The live history a restore compares with the backup's. Only Prisma's `_prisma_migrations` can
 * be read back out of an archive (readBackupHistory), so other tools compare nothing.
 */
async function liveHistory (run: DeploymentRun, handler: MigrationHandler): Promise<HistoryIdentity> {
  if (handler.tool !== 'prisma') return []
  const status = await handler.status(run.databaseUrl(), [])
  return [...status.applied, ...status.failed].map((entry) => ({ name: entry.name, checksum: entry.checksum }))
}

function restorePlanChecksum (environment: string, backupId: string, live: HistoryIdentity): string {
  return `sha256:${sha256Hex(JSON.stringify({ environment, restore: backupId, live: live.map((m) => [m.name, m.checksum]) }))}`
}

async function loadBackup (run: DeploymentRun): Promise<BackupRow> {
  const { deployment, environment } = run
  const backup = deployment.backup_id === null ? undefined : await getBackup(run.ctx.pool, deployment.backup_id)
  if (backup === undefined || backup.environment !== environment.name || backup.deleted_at !== null || backup.file === null) {
    throw new DeploymentFailure({
      error: `Backup ${deployment.backup_id ?? '(none)'} cannot be restored to ${environment.name}`,
      suggestions: [`List restorable backups with GET /environments/${environment.name}/backups`]
    })
  }
  return backup
}

/** A restore's health checks: connectivity and the custom SQL checks (history and drift are what it changes). */
async function checkRestoreHealth (run: DeploymentRun, handler: MigrationHandler, when: 'before' | 'after'): Promise<'passed' | 'skipped'> {
  const label = when === 'before' ? 'Pre-restore health check' : 'Post-restore health check'
  const checks = run.environment.health_check.checks.filter((check) => check === 'connectivity')
  const health = await runHealthCheckStep(run, { when, label, handler, source: [], checks })
  if (health.outcome !== 'failed') return health.outcome
  throw new DeploymentFailure({
    error: `${label} failed`,
    suggestions: [
      ...(when === 'before' ? [] : ['The backup was restored; check the database and the application now']),
      ...healthCheckSuggestions(health.result?.details ?? [], run.environment)
    ],
    extraResult: { [when === 'before' ? 'health_check' : 'health_check_after']: 'failed', details: health.result?.details ?? [] }
  })
}

/**
 * The plan of `restore-backup`: verify the archive, then compare its history table with the live
 * one, so the approver sees which migrations the restore will un-apply. A dry run ends here.
 */
export async function planRestore (run: DeploymentRun): Promise<PlanOutcome> {
  const { environment, recorder } = run
  const backup = await runPreamble(run, async () => {
    const row = await loadBackup(run)
    return { value: row, detail: `restore ${row.id} (${row.provider})` }
  })
  const handler = handlerFor(environment)
  await checkRestoreHealth(run, handler, 'before')

  await recorder.startStep('check_pending', `verifying ${backup.id} and comparing its history with the database`)
  const pgRestore = environment.backup.pg_restore_path ?? 'pg_restore'
  let backupHistory: Awaited<ReturnType<typeof readBackupHistory>>
  try {
    await readArchiveToc(backup.file as string, pgRestore)
    backupHistory = handler.tool === 'prisma' ? await readBackupHistory(backup.file as string, pgRestore) : []
  } catch (error) {
    throw new DeploymentFailure({
      error: `Backup ${backup.id} failed verification: ${safeErrorMessage(error)}`,
      suggestions: [`Choose another backup from GET /environments/${environment.name}/backups`]
    })
  }
  const live = await liveHistory(run, handler)
  const inBackup = new Set(backupHistory.filter((e) => e.finished).map((e) => `${e.name}\0${e.checksum}`))
  const inLive = new Set(live.map((e) => `${e.name}\0${e.checksum}`))
  const restore: RestorePlan = {
    backup_id: backup.id,
    backup_created_at: backup.created_at.toISOString(),
    backup_age_seconds: Math.round((Date.now() - backup.created_at.getTime()) / 1000),
    backup_size_bytes: backup.size_bytes,
    unapplies: live.filter((e) => !inBackup.has(`${e.name}\0${e.checksum}`)),
    reapplies: backupHistory.filter((e) => e.finished && !inLive.has(`${e.name}\0${e.checksum}`)).map((e) => ({ name: e.name, checksum: e.checksum }))
  }
  const plan: Plan = { checksum: restorePlanChecksum(environment.name, backup.id, live), pending_migrations: 0, migrations: [], restore }
  await run.save({ plan, source_snapshot: live })
  await recorder.finishStep('check_pending', 'passed', `restoring ${backup.id} un-applies ${restore.unapplies.length} migration(s)`)
  const unapplied = restore.unapplies.map((m) => m.name)
  const listed = unapplied.length === 0 ? '' : `: ${unapplied.join(', ')}`
  const migrations = `${unapplied.length} migration${unapplied.length === 1 ? '' : 's'}`
  await recorder.log(`✓ Restore plan: ${backup.id} (taken ${restore.backup_created_at}) un-applies ${migrations}${listed}`)

  if (run.deployment.dry_run) {
    await recorder.finishStep('preview', 'passed', 'dry run: nothing restored')
    const report = restorePreviewReport(environment.name, environment.mode, restore)
    return { ending: { status: 'succeeded', report, summary: { migrationsApplied: 0, durationMs: run.elapsedMs(), backupId: null, healthy: true } } }
  }
  return { planned: { plan } }
}

/**
 * The apply of `restore-backup`: under the migration lock, check the database still has the
 * history the plan saw, back up the current state, restore, check health, and verify the history
 * now equals the backup's.
 */
export async function applyRestore (run: DeploymentRun): Promise<Ending> {
  const { deployment, environment, recorder } = run
  const restore = deployment.plan?.restore
  if (restore === undefined || deployment.plan === null) {
    throw new DeploymentFailure({ error: `Deployment ${deployment.id} has no restore plan; create a new restore deployment` })
  }
  const backup = await loadBackup(run)
  const handler = handlerFor(environment)
  const lockRequested = performance.now()
  const target = await handler.lock(run.databaseUrl(), { waitMs: environment.migration_lock_wait })
  try {
    const live = await liveHistory(run, handler)
    if (restorePlanChecksum(environment.name, backup.id, live) !== deployment.plan.checksum) {
      throw new DeploymentFailure({
        error: 'plan is stale: the database\'s migration history changed since the restore was planned; nothing was restored',
        suggestions: ['Create a new restore deployment so the current state can be reviewed']
      })
    }
    const preRestore = await runBackupStep(run)
    await recorder.startStep('deploy', `restoring ${backup.id}; migration lock held after ${formatSeconds(performance.now() - lockRequested)} waiting`)
    let durationMs: number
    try {
      const target = { databaseUrl: run.databaseUrl(), environment: environment.name, pgRestorePath: environment.backup.pg_restore_path }
      ;({ durationMs } = await restoreRecordedBackup(backup, target))
    } catch (error) {
      await recorder.log(`✗ Restore of ${backup.id} failed: ${safeErrorMessage(error)}`)
      throw new DeploymentFailure({
        error: `Restore of ${backup.id} failed: ${safeErrorMessage(error)}`,
        backupId: preRestore?.id ?? null,
        suggestions: ['The restore runs in one transaction: the database is unchanged', `Read the full log: GET /deployments/${deployment.id}/log`]
      })
    }
    await recorder.finishStep('deploy', 'passed', `restored ${backup.id} in ${formatSeconds(durationMs)}`)
    const restored = { backup_id: backup.id, pre_restore_backup_id: preRestore?.id ?? null }
    await recorder.log(`✓ Restored backup: ${backup.id} (${formatSeconds(durationMs)})`, 'backup_restored', restored)

    const healthAfter = await checkRestoreHealth(run, handler, 'after')
    await recorder.startStep('verify')
    const after = new Set((await liveHistory(run, handler)).map((e) => `${e.name}\0${e.checksum}`))
    const expected = live.filter((e) => !restore.unapplies.some((u) => u.name === e.name && u.checksum === e.checksum)).concat(restore.reapplies)
    const missing = expected.filter((e) => !after.has(`${e.name}\0${e.checksum}`)).map((e) => e.name)
    const leftover = restore.unapplies.filter((e) => after.has(`${e.name}\0${e.checksum}`)).map((e) => e.name)
    if (missing.length > 0 || leftover.length > 0) {
      throw new DeploymentFailure({
        error: `Verification failed: history differs from ${backup.id} ` +
          `(missing: ${missing.join(', ') || 'none'}; still applied: ${leftover.join(', ') || 'none'})`,
        backupId: preRestore?.id ?? null,
        suggestions: ['Inspect the history table before deploying again']
      })
    }
    await recorder.finishStep('verify', 'passed', 'history table matches the backup')
    await recorder.log('✓ Verification: history table matches the backup')

    const backupId = preRestore?.id ?? null
    const report = restoreReport({
      environment: environment.name,
      mode: environment.mode,
      backupId: backup.id,
      preRestoreBackupId: backupId,
      unapplied: restore.unapplies.map((m) => m.name),
      totalDurationMs: run.elapsedMs(),
      healthCheckBefore: run.healthBefore(),
      healthCheckAfter: healthAfter
    })
    return { status: 'succeeded', report, summary: { migrationsApplied: 0, durationMs: run.elapsedMs(), backupId, healthy: true } }
  } finally {
    await target.release()
  }
}
