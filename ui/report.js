// The structured report (SPEC §6) for people: the message or error first, the numbers that
// matter, the recovery suggestions, and the full JSON for whoever needs it.

import { h } from './dom.js'

/** @param {Record<string, any>} report */
function resultFacts (report) {
  const result = report.result ?? {}
  /** @type {Array<[string, unknown]>} */
  const rows = [
    ['Migrations applied', result.migrations_applied],
    ['Pending migrations', result.pending_migrations],
    ['Total time', typeof result.total_duration_seconds === 'number' ? `${result.total_duration_seconds} s` : undefined],
    ['Backup', result.backup_id],
    ['Health check before', result.health_check_before],
    ['Health check after', result.health_check_after],
    ['Failed migration', result.failed_migration],
    ['Rollback', result.rollback_status]
  ]
  const shown = rows.filter(([, value]) => value !== undefined && value !== null && value !== '')
  if (shown.length === 0) return null
  return h('dl', { class: 'facts' }, shown.map(([label, value]) => [h('dt', null, label), h('dd', null, String(value))]))
}

/** @param {Record<string, any>} report */
export function reportSection (report) {
  const ok = report.status === 'success'
  const headline = ok ? report.message : report.error
  const suggestions = Array.isArray(report.recovery?.suggestions) ? report.recovery.suggestions : []
  return h('section', { 'aria-labelledby': 'report-heading', class: 'report' },
    h('h2', { id: 'report-heading' }, 'Report'),
    h('p', { class: `report-headline ${ok ? 'tone-ok' : 'tone-bad'}` }, String(headline ?? report.status ?? '')),
    resultFacts(report),
    suggestions.length > 0
      ? [h('h3', null, 'Recovery'), h('ul', { class: 'suggestions' }, suggestions.map((/** @type {unknown} */ s) => h('li', null, String(s)))),
          report.recovery?.rollback_command ? h('p', null, 'Rollback command: ', h('code', null, String(report.recovery.rollback_command))) : null]
      : null,
    h('details', null, h('summary', null, 'Full report (JSON)'), h('pre', { class: 'json' }, h('code', null, JSON.stringify(report, null, 2)))))
}
