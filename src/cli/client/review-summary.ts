import type { DeploymentResource } from '../../schemas/deployment.js'

const MAX_ITEMS = 4

function listed (items: string[]): string {
  return items.length <= MAX_ITEMS ? items.join(', ') : `${items.slice(0, MAX_ITEMS).join(', ')}, … (${items.length - MAX_ITEMS} more)`
}

/**
 * What the plan will do, in a few lines for a CI log (SPEC §12): predicted failures, the
 * rehearsal's locks and rewrites, and the schema changes. Empty when neither preflight nor
 * rehearsal ran.
 */
export function reviewSummary (deployment: Pick<DeploymentResource, 'plan'>): string[] {
  const { preflight, rehearsal } = deployment.plan ?? {}
  const lines: string[] = []
  if (preflight !== undefined) {
    const failing = preflight.filter((c) => c.status === 'would_fail')
    const uncounted = preflight.filter((c) => c.status === 'skipped' || c.status === 'timed_out').length
    lines.push(`   Preflight: ${preflight.length} check${preflight.length === 1 ? '' : 's'} of the target's rows, ` +
      `${failing.length} predicted to fail${uncounted === 0 ? '' : `, ${uncounted} not counted`}`)
    for (const check of failing) lines.push(`     ✗ ${check.migration}: ${check.reason ?? ''}`)
  }
  if (rehearsal !== undefined) {
    if (rehearsal.status !== 'passed') {
      lines.push(`   Rehearsal: ${rehearsal.status}${rehearsal.reason === null ? '' : `: ${rehearsal.reason}`}`)
    } else {
      // The longest hold per table and mode, longest first.
      const locks = new Map<string, number>()
      for (const m of rehearsal.migrations) for (const l of m.locks) locks.set(`${l.mode} on ${l.relation}`, Math.max(locks.get(`${l.mode} on ${l.relation}`) ?? 0, l.held_ms))
      const byHold = [...locks].sort((a, b) => b[1] - a[1]).map(([lock, ms]) => `${lock} ${ms}ms`)
      const rewrites = [...new Set(rehearsal.migrations.flatMap((m) => m.rewrites))]
      const changes = (rehearsal.schema_diff?.summary ?? []).map((c) => `${c.change} ${c.object} ${c.name}`)
      lines.push(`   Rehearsal: passed in ${rehearsal.duration_seconds}s on a scratch copy`)
      lines.push(`     Locks: ${locks.size === 0 ? 'none seen' : listed(byHold)}`)
      lines.push(`     Rewrites: ${rewrites.length === 0 ? 'none' : listed(rewrites)}`)
      lines.push(`     Schema: ${changes.length === 0 ? 'no change' : listed(changes)}`)
    }
  }
  return lines.length === 0 ? [] : ['   What it will do:', ...lines]
}
