/** `drift_watch` of GET /environments/:name/status (SPEC §15). */
export interface DriftWatchView {
  state: 'unknown' | 'clean' | 'drifted'
  detected_at: string | null
  checked_at: string | null
  changes: Array<{ object: string, change: string }>
  baseline_deployment_id: string | null
}

/** Objects listed one a line; the rest are counted (all of them are in --json). */
const LISTED = 20

/** The drift watch's lines in `env-status`: the state, since when, and the objects that changed. */
export function driftLines (drift: DriftWatchView | null | undefined): string[] {
  if (drift === null || drift === undefined) return []
  const checked = drift.checked_at === null ? 'not checked yet' : `last checked ${drift.checked_at}`
  const against = drift.baseline_deployment_id === null ? 'its first reading' : `what ${drift.baseline_deployment_id} left`
  if (drift.state !== 'drifted') return [`drift watch:     ${drift.state === 'clean' ? 'clean' : 'unknown'} (${checked})`]
  const lines = [`drift watch:     DRIFTED since ${drift.detected_at ?? '?'}: ${drift.changes.length} object${drift.changes.length === 1 ? '' : 's'} differ from ${against} (${checked})`]
  for (const change of drift.changes.slice(0, LISTED)) lines.push(`  ${change.change.toUpperCase().padEnd(8)} ${change.object}`)
  if (drift.changes.length > LISTED) lines.push(`  … and ${drift.changes.length - LISTED} more (--json lists them all)`)
  return lines
}
