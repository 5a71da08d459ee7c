import type pg from 'pg'
import type { MigrationFile, PreflightCheck } from '../domain/index.js'
import { connectTarget } from '../lib/target-connection.js'
import { countRows } from './count-rows.js'
import { relationSql, quoteIdent, type CheckSpec } from './count-spec.js'
import { findChecks } from './find-checks.js'

export interface PreflightOptions {
  /** Each count query's own statement_timeout. */
  queryTimeoutMs: number
}

/** How a relation is shown: `"User"`, `"public"."Order"`. */
export function shownRelation (spec: Pick<CheckSpec, 'relation'>): string {
  return spec.relation.schema === undefined ? quoteIdent(spec.relation.name) : relationSql(spec.relation)
}

/**
 * Preflight (SPEC §12): for every pending statement that can fail on the target's existing rows,
 * counts those rows, read-only, one bounded query at a time. Returns counts and names only.
 */
export async function runPreflight (databaseUrl: string, pending: MigrationFile[], options: PreflightOptions): Promise<PreflightCheck[]> {
  const specs = await findChecks(pending)
  if (specs.length === 0) return []
  const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer preflight' })
  try {
    const checks: PreflightCheck[] = []
    for (const spec of specs) checks.push(await runCheck(client, spec, options))
    return checks
  } finally {
    await client.end().catch(() => {})
  }
}

async function runCheck (client: pg.Client, spec: CheckSpec, options: PreflightOptions): Promise<PreflightCheck> {
  const shown = shownRelation(spec)
  const base = { migration: spec.migration, statement_index: spec.statementIndex, check: spec.check, relation: shown, columns: spec.columns }
  if (spec.count.kind === 'reasoned') return { ...base, offending_rows: null, status: spec.count.status, reason: spec.count.reason }
  const counted = await countRows(client, { sql: relationSql(spec.relation), shown }, spec.count, options.queryTimeoutMs)
  if ('timedOut' in counted) {
    return { ...base, offending_rows: null, status: 'timed_out', reason: `the count did not finish within ${options.queryTimeoutMs / 1000}s (rehearsal.preflight_query_timeout)` }
  }
  if ('skipped' in counted) return { ...base, offending_rows: null, status: 'skipped', reason: counted.skipped }
  const rows = counted.rows
  return rows === 0
    ? { ...base, offending_rows: 0, status: 'ok', reason: null }
    : { ...base, offending_rows: rows, status: 'would_fail', reason: `${rows} row${rows === 1 ? '' : 's'} of ${shown} ${rows === 1 ? singular(spec.describe) : spec.describe}` }
}

/** `have NULL in …` → `has NULL in …`, for one row. */
function singular (describe: string): string {
  return describe.replace(/^(have|share|violate)\b/, (verb) => verb === 'have' ? 'has' : `${verb}s`)
}
