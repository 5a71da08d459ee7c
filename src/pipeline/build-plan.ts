import { sha256Hex } from '../lib/checksum.js'
import type { MigrationFile } from '../handlers/types.js'
import type { Plan, PlannedMigration } from '../domain/index.js'

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

/** What a migration took when it was applied elsewhere (same checksum), by checksum. */
export type MeasuredDurations = Map<string, { durationMs: number, environment: string }>

/** Builds the plan a release manager reviews from the pending migrations. */
export function buildPlan (environment: string, pending: MigrationFile[], measured: MeasuredDurations = new Map()): Plan {
  const migrations: PlannedMigration[] = pending.map((migration) => {
    const known = measured.get(migration.checksum)
    return {
      name: migration.name,
      checksum: migration.checksum,
      sql: migration.sql,
      transactional: true,
      warnings: [],
      estimated_duration_seconds: known === undefined ? estimateDurationSeconds(migration.sql) : Math.round(known.durationMs) / 1000,
      estimate_basis: known === undefined ? 'size-based guess' : `measured in ${known.environment}`
    }
  })
  return { checksum: planChecksum(environment, pending), pending_migrations: migrations.length, migrations }
}
