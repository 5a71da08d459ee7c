import { readArchiveToc, readBackupHistory, restoreRecordedBackup } from '../backup/index.js'
import type { EnvironmentConfig } from '../config/load.js'
import { handlerFor } from '../handlers/index.js'
import type { MigrationHandler } from '../handlers/types.js'
import { sha256Hex } from '../lib/checksum.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { getBackup, type BackupRow } from '../store/backups.js'
import { transitionDeployment } from '../store/deployments.js'
import { type DeploymentRow, type Plan, type RestorePlan } from '../domain/index.js'
import { DeploymentFailure } from './deployment-failure.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import { completedBanner, formatSeconds } from './human-log.js'
import type { PipelineContext } from './pipeline-context.js'
import { runBackupStep } from './steps/backup.js'
import { scheduleExpiry } from './expire-deployment.js'
import { runHealthChecks } from './steps/health-check.js'
import { runPreamble } from './steps/preamble.js'
import { targetUrlFor } from './target-url.js'

type HistoryIdentity = Array<{ name: string, checksum: string }>

/** A restore's health checks: connectivity and the custom SQL checks (history and drift are what it changes). */
function restoreHealthConfig (environment: EnvironmentConfig): EnvironmentConfig {
  return { ...environment, health_check: { ...environment.health_check, checks: environment.health_check.checks.filter((c) => c === 'connectivity') } }
}

/**
 * The live history a restore compares with the backup's. Only Prisma's `_prisma_migrations` can
 * be read back out of an archive (readBackupHistory), so other tools compare nothing.
 */
async function liveHistory (handler: MigrationHandler, databaseUrl: string): Promise<HistoryIdentity> {
  if (handler.tool !== 'prisma') return []
  const status = await handler.status(databaseUrl, [])
  return [...status.applied, ...status.failed].map((entry) => ({ name: entry.name, checksum: entry.checksum }))
}

function restorePlanChecksum (environment: string, backupId: string, live: HistoryIdentity): string {
  return `sha256:${sha256Hex(JSON.stringify({ environment, restore: backupId, live: live.map((m) => [m.name, m.checksum]) }))}`
}

async function loadBackup (ctx: PipelineContext, deployment: DeploymentRow, environment: EnvironmentConfig): Promise<BackupRow> {
  const backup = deployment.backup_id === null ? undefined : await getBackup(ctx.pool, deployment.backup_id)
  if (backup === undefined || backup.environment !== environment.name || backup.deleted_at !== null || backup.file === null) {
    throw new DeploymentFailure({ error: `Backup ${deployment.backup_id ?? '(none)'} cannot be restored to ${environment.name}`, suggestions: [`List restorable backups with GET /environments/${environment.name}/backups`] })
  }
  return backup
}

/**
 * The plan of a restore: verify the archive, then compare its history table with the live one,
 * so the approver sees which migrations the restore will un-apply.
 */
export async function runRestorePlanPhase (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder): Promise<void> {
  const startedMs = performance.now()
  const { environment, loaded: backup } = await runPreamble(ctx, deployment, recorder, async (environment) => {
    const row = await loadBackup(ctx, deployment, environment)
    return { value: row, detail: `restore ${row.id} (${row.provider})` }
  })
  const databaseUrl = targetUrlFor(environment, ctx.env)
  const handler = handlerFor(environment)
  const healthBefore = await restoreHealthCheck(deployment, environment, databaseUrl, handler, recorder, 'before')

  await recorder.startStep('check_pending', `verifying ${backup.id} and comparing its history with the database`)
  const pgRestore = environment.backup.pg_restore_path ?? 'pg_restore'
  let backupHistory: Awaited<ReturnType<typeof readBackupHistory>>
  try {
    await readArchiveToc(backup.file as string, pgRestore)
    backupHistory = handler.tool === 'prisma' ? await readBackupHistory(backup.file as string, pgRestore) : []
  } catch (error) {
    throw new DeploymentFailure({ error: `Backup ${backup.id} failed verification: ${safeErrorMessage(error)}`, suggestions: ['Choose another backup from GET /environments/' + environment.name + '/backups'] })
  }
  const live = await liveHistory(handler, databaseUrl)
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
  await transitionDeployment(ctx.pool, deployment.id, ['running'], { plan, source_snapshot: live })
  await recorder.finishStep('check_pending', 'passed', `restoring ${backup.id} un-applies ${restore.unapplies.length} migration(s)`)
  await recorder.log(`✓ Restore plan: ${backup.id} (taken ${restore.backup_created_at}) un-applies ${restore.unapplies.length} migration${restore.unapplies.length === 1 ? '' : 's'}${restore.unapplies.length === 0 ? '' : `: ${restore.unapplies.map((m) => m.name).join(', ')}`}`)

  if (deployment.dry_run) {
    await recorder.finishStep('preview', 'passed', 'dry run: nothing restored')
    const report = { status: 'success', operation: 'restore-backup', environment: environment.name, mode: environment.mode, result: { backup_id: backup.id, restore }, message: 'Preview only - no changes applied' }
    if (await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps }) !== undefined) {
      await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: 0, durationMs: performance.now() - startedMs, backupId: null, healthy: true }), 'banner')
    }
    return
  }
  if (environment.protected && environment.mode === 'deploy') {
    const required = environment.approval.required_approvals
    const expiresAt = new Date(Date.now() + environment.approval.expires_after)
    await recorder.startStep('approval', `a restore needs ${required} approval${required === 1 ? '' : 's'} like a migration (never auto-approved)`)
    if (await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'pending_approval', phase: 'apply', approvals_required: required, expires_at: expiresAt, steps: recorder.steps }) !== undefined) {
      await recorder.event('status_changed', { from: 'running', to: 'pending_approval', plan_checksum: plan.checksum })
      await recorder.log(`⏸ Waiting for approval of the restore: ${required} required from ${environment.approval.roles.join(' or ')} (plan ${plan.checksum}), expires ${expiresAt.toISOString()}`)
      await scheduleExpiry(ctx, deployment.id, expiresAt)
    }
    return
  }
  await recorder.finishStep('approval', 'skipped', `${environment.name} is not protected`)
  await runRestoreApplyPhase(ctx, { ...deployment, plan, source_snapshot: live }, recorder, { healthBefore, startedMs })
}

/**
 * Applies a restore: under the migration lock, check the database still has the history the plan
 * saw, back up the current state, restore, check health, and verify the history now equals the
 * backup's.
 */
export async function runRestoreApplyPhase (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, input: { healthBefore: string, startedMs: number }): Promise<void> {
  const environment = ctx.config.environments[deployment.environment]
  const restore = deployment.plan?.restore
  if (environment === undefined || restore === undefined || deployment.plan === null) throw new DeploymentFailure({ error: `Deployment ${deployment.id} has no restore plan; create a new restore deployment` })
  const backup = await loadBackup(ctx, deployment, environment)
  const databaseUrl = targetUrlFor(environment, ctx.env)
  const handler = handlerFor(environment)
  const lockRequested = performance.now()
  const target = await handler.lock(databaseUrl, { waitMs: environment.migration_lock_wait })
  try {
    const live = await liveHistory(handler, databaseUrl)
    if (restorePlanChecksum(environment.name, backup.id, live) !== deployment.plan.checksum) {
      throw new DeploymentFailure({ error: 'plan is stale: the database\'s migration history changed since the restore was planned; nothing was restored', suggestions: ['Create a new restore deployment so the current state can be reviewed'] })
    }
    const preRestore = await runBackupStep(ctx.pool, ctx.config, deployment, environment, databaseUrl, recorder)
    await recorder.startStep('deploy', `restoring ${backup.id}; migration lock held after ${formatSeconds(performance.now() - lockRequested)} waiting`)
    let durationMs: number
    try {
      ({ durationMs } = await restoreRecordedBackup(backup, { databaseUrl, environment: environment.name, pgRestorePath: environment.backup.pg_restore_path }))
    } catch (error) {
      await recorder.log(`✗ Restore of ${backup.id} failed: ${safeErrorMessage(error)}`)
      throw new DeploymentFailure({ error: `Restore of ${backup.id} failed: ${safeErrorMessage(error)}`, backupId: preRestore?.id ?? null, suggestions: ['The restore runs in one transaction: the database is unchanged', `Read the full log: GET /deployments/${deployment.id}/log`] })
    }
    await recorder.finishStep('deploy', 'passed', `restored ${backup.id} in ${formatSeconds(durationMs)}`)
    await recorder.log(`✓ Restored backup: ${backup.id} (${formatSeconds(durationMs)})`, 'backup_restored', { backup_id: backup.id, pre_restore_backup_id: preRestore?.id ?? null })

    const healthAfter = await restoreHealthCheck(deployment, environment, databaseUrl, handler, recorder, 'after')
    await recorder.startStep('verify')
    const after = new Set((await liveHistory(handler, databaseUrl)).map((e) => `${e.name}\0${e.checksum}`))
    const expected = live.filter((e) => !restore.unapplies.some((u) => u.name === e.name && u.checksum === e.checksum)).concat(restore.reapplies)
    const missing = expected.filter((e) => !after.has(`${e.name}\0${e.checksum}`)).map((e) => e.name)
    const leftover = restore.unapplies.filter((e) => after.has(`${e.name}\0${e.checksum}`)).map((e) => e.name)
    if (missing.length > 0 || leftover.length > 0) {
      throw new DeploymentFailure({ error: `Verification failed: history differs from ${backup.id} (missing: ${missing.join(', ') || 'none'}; still applied: ${leftover.join(', ') || 'none'})`, backupId: preRestore?.id ?? null, suggestions: ['Inspect the history table before deploying again'] })
    }
    await recorder.finishStep('verify', 'passed', 'history table matches the backup')
    await recorder.log('✓ Verification: history table matches the backup')

    const totalMs = performance.now() - input.startedMs
    const report = {
      status: 'success',
      operation: 'restore-backup',
      environment: environment.name,
      mode: environment.mode,
      result: {
        backup_id: backup.id,
        pre_restore_backup_id: preRestore?.id ?? null,
        migrations_unapplied: restore.unapplies.map((m) => m.name),
        total_duration_seconds: Math.round(totalMs) / 1000,
        health_check_before: input.healthBefore,
        health_check_after: healthAfter
      },
      message: `Restored ${environment.name} to ${backup.id}`
    }
    if (await transitionDeployment(ctx.pool, deployment.id, ['running'], { status: 'succeeded', report, steps: recorder.steps }) === undefined) return
    await recorder.event('status_changed', { from: 'running', to: 'succeeded' })
    await recorder.log(completedBanner({ environment: environment.name, migrationsApplied: 0, durationMs: totalMs, backupId: preRestore?.id ?? null, healthy: healthAfter !== 'failed' }), 'banner')
  } finally {
    await target.release()
  }
}

async function restoreHealthCheck (deployment: DeploymentRow, environment: EnvironmentConfig, databaseUrl: string, handler: MigrationHandler, recorder: DeploymentRecorder, when: 'before' | 'after'): Promise<string> {
  const step = when === 'before' ? 'health_check_before' : 'health_check_after'
  const label = when === 'before' ? 'Pre-restore health check' : 'Post-restore health check'
  if (deployment.skip_health_check) {
    await recorder.finishStep(step, 'skipped', 'skip_health_check was requested')
    return 'skipped'
  }
  await recorder.startStep(step)
  const result = await runHealthChecks({ databaseUrl, environment: restoreHealthConfig(environment), handler, source: [] })
  if (!result.passed) {
    await recorder.log(`✗ ${label}: failed`)
    throw new DeploymentFailure({
      error: `${label} failed`,
      suggestions: when === 'before' ? ['Check that the database is reachable from the worker, then try again'] : ['The backup was restored; check the database and the application now'],
      extraResult: { [when === 'before' ? 'health_check' : 'health_check_after']: 'failed', details: result.details }
    })
  }
  await recorder.finishStep(step, 'passed', result.details.map((d) => `${d.check}: ${d.message}`).join('; '))
  await recorder.log(`✓ ${label}: passed`)
  return 'passed'
}
