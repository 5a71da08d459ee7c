import { BadRequestError } from '../../errors/index.js'

/** A parsed migration name: `V1_10__add_index` or `20250110090000_init`. */
export interface SqlMigrationName {
  /** The version's numeric parts without leading zeros: `V1_10` → ['1', '10'], `0042_x` → ['42']. */
  versionParts: string[]
  /** The version as stored in the history table: parts joined with dots (`1.10`). */
  version: string
}

// Flyway's versioned form: V, a version of digits separated by `.` or `_`, two underscores, a description.
const FLYWAY_VERSIONED = /^V(\d+(?:[._]\d+)*)__(.+)$/
// The plain form: digits (a number or a timestamp), one underscore, a description.
const PLAIN_NUMBERED = /^(\d+)_(.+)$/

/**
 * Parses a migration name (a file name without `.sql`). Returns a reason instead when the name
 * is not one the sql handler applies: Flyway's repeatable (`R__`), undo (`U`) and baseline (`B`)
 * migrations are refused rather than skipped, so nobody believes they ran.
 */
export function parseSqlMigrationName (name: string): SqlMigrationName | { refused: string } {
  const versioned = FLYWAY_VERSIONED.exec(name) ?? PLAIN_NUMBERED.exec(name)
  if (versioned !== null) {
    const versionParts = (versioned[1] as string).split(/[._]/).map((part) => part.replace(/^0+(?=\d)/, ''))
    // Flyway treats trailing zero parts as absent: 1.0 is the same version as 1.
    while (versionParts.length > 1 && versionParts[versionParts.length - 1] === '0') versionParts.pop()
    return { versionParts, version: versionParts.join('.') }
  }
  if (/^R__/.test(name)) return { refused: 'repeatable migrations (R__) are not supported: rename it V<version>__<name>.sql to apply it once' }
  if (/^[UB]\d/.test(name)) return { refused: 'Flyway undo (U) and baseline (B) migrations are not supported' }
  return { refused: 'expected V<version>__<name>.sql (like Flyway) or <digits>_<name>.sql' }
}

/** Compares two parsed versions part by part, numerically: 1.9 < 1.10 < 2, 9 < 10. */
export function compareVersions (a: string[], b: string[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index] ?? '0'
    const right = b[index] ?? '0'
    // Parts have no leading zeros, so a longer part is a larger number (works past 2^53 too).
    if (left.length !== right.length) return left.length - right.length
    if (left !== right) return left < right ? -1 : 1
  }
  return 0
}

/**
 * Orders migrations by version and refuses names the handler does not apply and two files with
 * the same version (`V1__a` and `V1.0__b`, `001_a` and `1_b`): which would run first is not defined.
 */
export function orderByVersion<T extends { name: string }> (migrations: T[], where: string): T[] {
  const parsed = migrations.map((migration) => ({ migration, parsed: parseSqlMigrationName(migration.name) }))
  const refused = parsed.flatMap(({ migration, parsed }) => 'refused' in parsed ? [`${migration.name}: ${parsed.refused}`] : [])
  if (refused.length > 0) throw new BadRequestError(`${where} has files the sql handler does not apply: ${refused.join('; ')}`, { refused }, 'BAD_MIGRATION_NAME')
  const versioned = parsed as Array<{ migration: T, parsed: SqlMigrationName }>
  versioned.sort((a, b) => compareVersions(a.parsed.versionParts, b.parsed.versionParts))
  const duplicates = versioned.flatMap((entry, index) => {
    const previous = versioned[index - 1]
    return previous !== undefined && compareVersions(previous.parsed.versionParts, entry.parsed.versionParts) === 0 ? [`${previous.migration.name} and ${entry.migration.name} (version ${entry.parsed.version})`] : []
  })
  if (duplicates.length > 0) throw new BadRequestError(`${where} has two migrations with the same version: ${duplicates.join('; ')}`, { duplicates }, 'DUPLICATE_MIGRATION_VERSION')
  return versioned.map((entry) => entry.migration)
}
