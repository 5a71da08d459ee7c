// "What it will do": what preflight counted on the target's rows and what the rehearsal on a
// scratch copy showed (SPEC §12). Predicted failures first, then locks by table, rewrites and
// the schema diff. Counts and names only: the API never sends a row's values.

import { h } from './dom.js'

/** @param {any} check */
function predictedFailure (check) {
  return h('li', { class: 'predicted-failure' },
    h('span', { class: 'warning-icon', 'aria-hidden': 'true' }, '✗'), ' ',
    h('span', { class: 'migration-name' }, check.migration), `, statement ${check.statement_index + 1}: `,
    h('span', null, check.reason ?? `${check.offending_rows} rows would fail`))
}

/** @param {any} check */
function uncounted (check) {
  return h('li', null, h('code', null, check.check), ` on ${check.relation} (${check.migration}): ${check.status === 'timed_out' ? 'timed out' : 'skipped'}: ${check.reason ?? ''}`)
}

/** @param {any[]} checks */
function preflightPart (checks) {
  const failing = checks.filter((c) => c.status === 'would_fail')
  const ok = checks.filter((c) => c.status === 'ok').length
  const other = checks.filter((c) => c.status === 'skipped' || c.status === 'timed_out')
  return [
    failing.length > 0
      ? h('div', { class: 'callout callout-danger', role: 'alert' },
        h('p', null, h('strong', null, `Predicted to fail on the target's rows (${failing.length})`)),
        h('ul', { class: 'predicted-failures' }, failing.map(predictedFailure)))
      : null,
    h('p', { class: 'preflight-summary' },
      `Preflight: ${checks.length} check${checks.length === 1 ? '' : 's'} of existing rows — ${ok} pass, ${failing.length} predicted to fail, ${other.length} not counted.`),
    other.length > 0 ? h('ul', { class: 'muted preflight-uncounted' }, other.map(uncounted)) : null
  ]
}

/** @param {any} rehearsal */
function locksTable (rehearsal) {
  /** @type {Array<{ relation: string, mode: string, held_ms: number, migration: string }>} */
  const rows = []
  for (const m of rehearsal.migrations ?? []) for (const lock of m.locks ?? []) rows.push({ ...lock, migration: m.name })
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No table lock was seen held.')
  rows.sort((a, b) => a.relation.localeCompare(b.relation) || b.held_ms - a.held_ms)
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'locks', 'aria-label': 'Locks taken in rehearsal, by table' },
      h('thead', null, h('tr', null, h('th', null, 'Table'), h('th', null, 'Lock mode'), h('th', null, 'Held'), h('th', null, 'Migration'))),
      h('tbody', null, rows.map((r) => h('tr', null,
        h('td', null, h('code', null, r.relation)), h('td', null, r.mode), h('td', null, `${r.held_ms} ms`), h('td', null, r.migration))))))
}

/** @param {any} rehearsal */
function rehearsalPart (rehearsal) {
  if (rehearsal.status === 'skipped') return [h('p', { class: 'muted rehearsal-status' }, `Rehearsal skipped: ${rehearsal.reason ?? ''}`)]
  const rewrites = (rehearsal.migrations ?? []).flatMap((/** @type {any} */ m) => (m.rewrites ?? []).map((/** @type {string} */ r) => `${r} (${m.name})`))
  const diff = rehearsal.schema_diff
  return [
    rehearsal.status === 'failed'
      ? h('p', { class: 'callout callout-danger rehearsal-status', role: 'alert' }, `Rehearsal failed: ${rehearsal.reason ?? ''}`)
      : h('p', { class: 'rehearsal-status' }, `Rehearsed on a scratch copy of the target in ${rehearsal.duration_seconds} s.`),
    h('h3', null, 'Locks by table'), locksTable(rehearsal),
    h('h3', null, 'Table rewrites'),
    rewrites.length === 0 ? h('p', { class: 'muted' }, 'No table is rewritten.') : h('ul', { class: 'rewrites' }, rewrites.map((/** @type {string} */ r) => h('li', null, r))),
    diff === null || diff === undefined
      ? null
      : [
          h('h3', null, 'Schema diff'),
          diff.summary.length === 0
            ? h('p', { class: 'muted' }, 'No schema change.')
            : h('ul', { class: 'schema-changes' }, diff.summary.map((/** @type {any} */ c) => h('li', null, `${c.change} ${c.object} `, h('code', null, c.name)))),
          diff.unified === '' ? null : h('details', null, h('summary', null, 'pg_dump --schema-only, before → after'), h('pre', { class: 'sql schema-diff' }, h('code', null, diff.unified)))
        ]
  ]
}

/**
 * The section, or null when neither preflight nor rehearsal ran. A deployment that failed on a
 * prediction carries them in its report instead of its plan.
 * @param {any} deployment
 * @returns {HTMLElement | null}
 */
export function effectsSection (deployment) {
  const result = deployment.report?.result ?? {}
  const checks = deployment.plan?.preflight ?? result.preflight
  const rehearsal = deployment.plan?.rehearsal ?? result.rehearsal
  if (checks === undefined && rehearsal === undefined) return null
  return h('section', { 'aria-labelledby': 'effects-heading', class: 'effects' },
    h('h2', { id: 'effects-heading' }, 'What it will do'),
    checks === undefined ? null : preflightPart(checks),
    rehearsal === undefined ? null : rehearsalPart(rehearsal))
}
