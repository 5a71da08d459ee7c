// A fleet deployment (SPEC §14) on the review page: its targets by status, and the targets that
// did not succeed with why — by name only: the API never gives a target's URL, and neither does
// this page. It moves with the deployment: each streamed event refreshes the deployment, whose
// `summary` carries the counts; the lists are fetched again only when they can have changed.

import { deploymentPath, getJson } from './api.js'
import { h, replaceChildren } from './dom.js'

/** The statuses of a fleet's targets, in the order the page shows their counts. */
export const FLEET_STATUSES = /** @type {const} */ (['pending', 'running', 'succeeded', 'failed', 'skipped'])

const TONES = { pending: 'muted', running: 'info', succeeded: 'ok', failed: 'bad', skipped: 'attention' }

/** How many targets of one status the page lists; the API pages through the rest. */
export const LISTED = 50

/** @typedef {{ total: number, pending: number, running: number, succeeded: number, failed: number, skipped: number }} FleetSummary */
/** @typedef {{ name: string, status: string, error: string | null }} FleetTarget */

/** "3 of 5 targets done" and a progress bar (its value repeats the words). @param {FleetSummary} s */
function progress (s) {
  const done = s.succeeded + s.failed + s.skipped
  const words = `${done} of ${s.total} target${s.total === 1 ? '' : 's'} done`
  return h('p', { class: 'fleet-progress' }, h('progress', { max: s.total, value: done, 'aria-label': words }), ' ', h('span', { class: 'fleet-done' }, words))
}

/** The counts by status; each count is a word and a number, the colour only repeats them. @param {FleetSummary} s */
export function fleetCounts (s) {
  return h('ul', { class: 'fleet-counts', 'aria-label': 'Targets by status' },
    FLEET_STATUSES.map((status) => h('li', { class: `fleet-count tone-${TONES[status]}`, 'data-status': status },
      h('span', { class: 'fleet-count-n' }, String(s[status])), ' ', status)))
}

/** The failed targets, each with its error. @param {FleetTarget[]} failed @param {number} count */
function failedList (failed, count) {
  if (count === 0) return null
  return [
    h('h3', null, `Failed targets (${count})`),
    h('ul', { class: 'fleet-failed' }, failed.map((t) => h('li', { 'data-target': t.name },
      h('code', { class: 'fleet-target' }, t.name), h('span', { class: 'fleet-error' }, t.error ?? 'failed')))),
    more(count, failed.length, 'failed')
  ]
}

/** The skipped targets, grouped by why (the rollout stopped, or the plan is stale for that target). @param {FleetTarget[]} skipped @param {number} count */
function skippedList (skipped, count) {
  if (count === 0) return null
  /** @type {Map<string, string[]>} */
  const byReason = new Map()
  for (const t of skipped) {
    const reason = t.error ?? 'skipped'
    byReason.set(reason, [...(byReason.get(reason) ?? []), t.name])
  }
  return [
    h('h3', null, `Skipped targets (${count})`),
    h('ul', { class: 'fleet-skipped' }, [...byReason].map(([reason, names]) => h('li', null,
      h('span', { class: 'fleet-error' }, `${reason} (${names.length})`), h('span', { class: 'fleet-names' }, names.join(', '))))),
    more(count, skipped.length, 'skipped')
  ]
}

/** @param {number} count @param {number} listed @param {string} status @returns {HTMLElement | null} */
function more (count, listed, status) {
  return count > listed ? h('p', { class: 'muted' }, `The first ${listed} are listed; all ${count}: GET /deployments/…/targets?status=${status}.`) : null
}

/** The fleet part of a deployment's page; empty for a deployment that is not a fleet's. */
export class FleetPanel {
  /** @param {AbortSignal} signal */
  constructor (signal) {
    this.signal = signal
    this.element = h('div')
    /** @type {string | null} */
    this.key = null
    /** @type {string | null} */
    this.listedFor = null
    this.requests = 0
    /** @type {{ failed: FleetTarget[], skipped: FleetTarget[] }} */
    this.lists = { failed: [], skipped: [] }
  }

  /** Shows the deployment's counts at once; fetches the lists of targets when they can have changed. @param {any} deployment */
  update (deployment) {
    /** @type {FleetSummary | undefined} */
    const summary = deployment.summary
    const key = JSON.stringify(summary ?? null)
    if (key === this.key) return
    this.key = key
    if (summary === undefined) { replaceChildren(this.element); return }
    this.render(summary)
    const listKey = `${summary.failed}/${summary.skipped}`
    if (summary.failed + summary.skipped > 0 && listKey !== this.listedFor) void this.refreshLists(deployment.id, summary, listKey)
  }

  /** @param {string} id @param {FleetSummary} summary @param {string} listKey */
  async refreshLists (id, summary, listKey) {
    const seq = ++this.requests
    try {
      const path = `${deploymentPath(id)}/targets?limit=${LISTED}&status=`
      const [failed, skipped] = await Promise.all([
        summary.failed > 0 ? getJson(`${path}failed`, { signal: this.signal }) : { targets: [] },
        summary.skipped > 0 ? getJson(`${path}skipped`, { signal: this.signal }) : { targets: [] }
      ])
      // An older answer arriving after a newer one must not replace it.
      if (seq !== this.requests) return
      this.lists = { failed: failed.targets, skipped: skipped.targets }
      this.listedFor = listKey
      this.render(JSON.parse(/** @type {string} */ (this.key)))
    } catch { /* the next update fetches again */ }
  }

  /** @param {FleetSummary} summary */
  render (summary) {
    replaceChildren(this.element, h('section', { 'aria-labelledby': 'fleet-heading', class: 'fleet' },
      h('h2', { id: 'fleet-heading' }, `Fleet: ${summary.total} target${summary.total === 1 ? '' : 's'}`),
      progress(summary),
      fleetCounts(summary),
      failedList(this.lists.failed, summary.failed),
      skippedList(this.lists.skipped, summary.skipped)))
  }
}
