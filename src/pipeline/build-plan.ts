import { sha256Hex } from '../lib/checksum.js'
import type { MigrationFile } from '../handlers/types.js'
import type { Plan, PlannedMigration } from '../store/deployments.js'

/**
 * A size-based guess for a migration we have never timed: a fixed cost per migration plus
 * a cost per kilobyte of SQL. Measured timings from earlier environments replace it when known.
 */
export function estimateDurationSeconds (sql: string): number {
  return Math.round((0.05 + Buffer.byteLength(sql) / 1024 * 0.01) * 1000) / 1000
}

/**
 * The checksum an approval is bound to: the environment and the ordered names and checksums of
 * what would be applied. Any change to the pending set changes it.
 */
export function planChecksum (environment: string, pending: Array<Pick<MigrationFile, 'name' | 'checksum'>>): string {
  const canonical = JSON.stringify({ environment, migrations: pending.map((m) => [m.name, m.checksum]) })
  return `sha256:${sha256Hex(canonical)}`
}

/** Builds the plan a release manager reviews from the pending migrations. */
export function buildPlan (environment: string, pending: MigrationFile[]): Plan {
  const migrations: PlannedMigration[] = pending.map((migration) => ({
    name: migration.name,
    checksum: migration.checksum,
    sql: migration.sql,
    transactional: true,
    warnings: [],
    estimated_duration_seconds: estimateDurationSeconds(migration.sql)
  }))
  return { checksum: planChecksum(environment, pending), pending_migrations: migrations.length, migrations }
}
