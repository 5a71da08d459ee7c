import type { RehearsalConfig } from '../../config/schema.js'
import type { MigrationFile, Plan, RehearsalResult } from '../../domain/index.js'
import type { MigrationHandler } from '../../handlers/types.js'
import { registerUrlSecret } from '../../lib/mask-secrets.js'
import { runRehearsal } from '../../rehearsal/index.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRun } from '../deployment-run.js'

/** One line per rehearsed migration: `20250301_x: 1.2s · ShareLock on "User" 40ms · rewrote "User"`. */
export function rehearsalLines (rehearsal: RehearsalResult): string[] {
  return rehearsal.migrations.map((m) => {
    const locks = m.locks.map((l) => `${l.mode} on ${l.relation} ${l.held_ms}ms`)
    const rewrites = m.rewrites.length === 0 ? [] : [`rewrote ${m.rewrites.join(', ')}`]
    return [`${m.name}: ${m.duration_seconds}s`, ...locks, ...rewrites].join(' · ')
  })
}

/**
 * The `rehearsal` step: the plan applied to a scratch copy of the target through the same handler.
 * A failure fails the deployment before approval with the database's message (target untouched);
 * a rehearsal that cannot run (no CREATEDB, no pg_dump) is `skipped` with its reason and the
 * deployment goes on. Measured durations become the estimates.
 */
export async function rehearsalStep (
  run: DeploymentRun, plan: Plan, pending: MigrationFile[], handler: MigrationHandler, settings: RehearsalConfig
): Promise<Plan> {
  const { recorder, environment } = run
  await recorder.startStep('rehearsal')
  const adminSource = settings.database_url_env ?? environment.database_url_env ?? 'the target\'s URL'
  const adminUrl = settings.database_url_env === undefined ? run.databaseUrl() : run.ctx.env[settings.database_url_env]
  if (adminUrl !== undefined && adminUrl !== '') registerUrlSecret(adminUrl)
  let rehearsal: RehearsalResult = adminUrl === undefined || adminUrl === ''
    ? { status: 'skipped', reason: `${adminSource} (rehearsal.database_url_env) is not set in the worker's environment`, duration_seconds: 0, migrations: [], schema_diff: null }
    : await runRehearsal({
      targetUrl: run.databaseUrl(),
      adminUrl,
      adminSource,
      handler,
      pending,
      apply: { lockTimeoutMs: environment.lock_timeout, statementTimeoutMs: environment.statement_timeout },
      lockWaitMs: environment.migration_lock_wait,
      copyDataBelow: settings.copy_data_below,
      timeoutMs: settings.timeout
    })
  if (rehearsal.status === 'passed') rehearsal = withoutBookkeeping(rehearsal, [environment.sql?.history_table ?? 'migration_deployer_history', '_prisma_migrations'])
  if (rehearsal.status === 'failed') {
    const failed = rehearsal.migrations.at(-1)?.name ?? null
    await recorder.log(`✗ Rehearsal: ${rehearsal.reason ?? ''}`, 'rehearsal', { rehearsal })
    throw new DeploymentFailure({
      code: 'REHEARSAL_FAILED',
      error: `Rehearsal: ${rehearsal.reason ?? 'failed'}`,
      failedMigration: failed,
      suggestions: [
        `Nothing was applied to ${environment.name}: the migration failed on a scratch copy of its schema. Fix it and deploy again`,
        `Compare the migration with the target's current schema (GET /environments/${environment.name}/status)`
      ],
      extraResult: { rehearsal }
    })
  }
  if (rehearsal.status === 'skipped') {
    await recorder.log(`⚠ Rehearsal skipped: ${rehearsal.reason ?? ''}`, 'rehearsal', { rehearsal })
    await recorder.finishStep('rehearsal', 'skipped', rehearsal.reason ?? undefined)
    return { ...plan, rehearsal }
  }
  const changes = rehearsal.schema_diff?.summary.length ?? 0
  await recorder.log(`✓ Rehearsal passed in ${rehearsal.duration_seconds}s on a scratch copy: ${changes} schema change${changes === 1 ? '' : 's'}`, 'rehearsal', { rehearsal })
  for (const line of rehearsalLines(rehearsal)) await recorder.log(`  │ ${line}`)
  await recorder.finishStep('rehearsal', 'passed', `${rehearsal.migrations.length} migrations rehearsed in ${rehearsal.duration_seconds}s, ${changes} schema changes`)
  const measured = new Map(rehearsal.migrations.map((m) => [m.name, m.duration_seconds]))
  const migrations = plan.migrations.map((m) => {
    const seconds = measured.get(m.name)
    return seconds === undefined ? m : { ...m, estimated_duration_seconds: seconds, estimate_basis: 'measured in rehearsal' }
  })
  return { ...plan, migrations, rehearsal }
}

/**
 * The rehearsal without the handler's own history table (its locks, its creation on a first
 * deployment): bookkeeping every deployment does, not what the reviewer's migrations do. The
 * unified diff stays whole.
 */
function withoutBookkeeping (rehearsal: RehearsalResult, tables: string[]): RehearsalResult {
  const ours = (name: string): boolean => tables.some((table) => name === table || name.startsWith(`${table}_`) || name.includes(`.${table}`))
  return {
    ...rehearsal,
    migrations: rehearsal.migrations.map((m) => ({ ...m, locks: m.locks.filter((l) => !ours(l.relation)), rewrites: m.rewrites.filter((r) => !ours(r)) })),
    schema_diff: rehearsal.schema_diff === null ? null : { ...rehearsal.schema_diff, summary: rehearsal.schema_diff.summary.filter((c) => !ours(c.name)) }
  }
}
