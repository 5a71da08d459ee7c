import type { EnvironmentConfig } from '../config/load.js'

/** The rule under each block of the human log (SPEC §7). */
export const RULE = '───────────────────────────────────────'

/** Seconds as the human log shows durations: `1.2s`, and two decimals under a second (`0.04s`). */
export function formatSeconds (ms: number): string {
  return `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)}s`
}

/** One label per mode, whatever the environment (Prisma's words: `migrate dev` vs `migrate deploy`). */
export function modeDescription (environment: Pick<EnvironmentConfig, 'mode'>): string {
  return environment.mode === 'dev' ? 'dev (development mode)' : 'deploy (production mode)'
}

export function startBanner (environment: Pick<EnvironmentConfig, 'mode' | 'protected' | 'name'>): string {
  return ['🎯 STARTING: Migration Deployer', `Environment: ${environment.name}`, `Mode: ${modeDescription(environment)}`, RULE].join('\n')
}

export function completedBanner (summary: {
  environment: string
  migrationsApplied: number
  durationMs: number
  backupId: string | null
  healthy: boolean
}): string {
  return [
    '✅ COMPLETED: Migration Deployer',
    `Environment: ${summary.environment}`,
    `Migrations Applied: ${summary.migrationsApplied}`,
    `Duration: ${(summary.durationMs / 1000).toFixed(1)} seconds`,
    ...(summary.backupId === null ? [] : [`Backup ID: ${summary.backupId}`]),
    `Status: ${summary.healthy ? '✓ Healthy' : '⚠ Check health'}`,
    RULE
  ].join('\n')
}

export function failedBanner (failure: { environment: string, error: string, suggestions: string[] }): string {
  return [
    '❌ FAILED: Migration Deployer',
    `Environment: ${failure.environment}`,
    `Error: ${failure.error}`,
    ...(failure.suggestions.length === 0 ? [] : ['Recovery:', ...failure.suggestions.map((suggestion) => `  - ${suggestion}`)]),
    RULE
  ].join('\n')
}

/** A final banner for deployments that end without running: rejected, cancelled, expired. */
export function endedBanner (status: 'rejected' | 'cancelled' | 'expired', environment: string, reason: string): string {
  const title = { rejected: '⛔ REJECTED', cancelled: '⛔ CANCELLED', expired: '⌛ EXPIRED' }[status]
  return [`${title}: Migration Deployer`, `Environment: ${environment}`, reason, RULE].join('\n')
}
