// The drift watch of an environment (SPEC §15): whether its target changed outside the deployer
// since the last deployment, and which objects — what an approver should know before approving.

import { getJson } from './api.js'
import { h, replaceChildren, timeAgo } from './dom.js'

/** Objects listed; the rest are counted. */
const LISTED = 20

/** @param {any} drift @returns {Array<HTMLElement | null>} */
export function driftContent (drift) {
  const watch = drift.drift_watch
  if (watch === null) return [h('p', { class: 'muted drift-state', 'data-drift': 'off' }, `No drift watch for ${drift.environment} (drift_check is not configured).`)]
  const checked = watch.checked_at === null ? h('span', null, 'not checked yet') : h('span', null, 'last checked ', timeAgo(watch.checked_at))
  if (watch.state !== 'drifted') {
    return [h('p', { class: 'drift-state', 'data-drift': watch.state }, watch.state === 'clean' ? 'Clean: the schema is what the last deployment left' : 'Not known yet', ' (', checked, ').')]
  }
  const against = watch.baseline_deployment_id === null ? 'the watch\'s first reading' : `what ${watch.baseline_deployment_id} left`
  const count = watch.changes.length
  return [
    h('p', { class: 'drift-state flag flag-danger', 'data-drift': 'drifted' },
      `Drifted: ${count} object${count === 1 ? '' : 's'} changed outside the deployer since `, watch.detected_at === null ? '?' : timeAgo(watch.detected_at),
      `, compared with ${against} (`, checked, ').'),
    h('ul', { class: 'drift-changes' }, watch.changes.slice(0, LISTED).map((/** @type {any} */ c) => h('li', { 'data-change': c.change }, h('code', null, c.object), ` ${c.change}`))),
    count > LISTED ? h('p', { class: 'muted' }, `… and ${count - LISTED} more (GET /environments/${drift.environment}/drift)`) : null
  ]
}

/**
 * A "Drift watch" section for `environment`, filled when GET /environments/:name/drift answers.
 * @param {string} environment @param {AbortSignal} signal
 */
export function driftSection (environment, signal) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Reading the drift watch…'))
  const section = h('section', { 'aria-labelledby': 'drift-heading', class: 'drift' }, h('h2', { id: 'drift-heading' }, `Drift watch: ${environment}`), body)
  getJson(`/environments/${encodeURIComponent(environment)}/drift`, { signal }).then(
    (drift) => {
      if (signal.aborted) return
      // Environments without a drift watch get no section: nothing to say.
      section.hidden = drift.drift_watch === null
      replaceChildren(body, ...driftContent(drift))
    },
    (error) => { if (!signal.aborted) replaceChildren(body, h('p', { class: 'muted' }, `The drift watch could not be read: ${error instanceof Error ? error.message : String(error)}`)) })
  return section
}
