// The promotion gate: `requires_success_in` says which environments must have applied the same
// migrations first. The server checks it when it makes the plan and keeps the result in the plan
// (`plan.promotion_gate`), which is what this panel shows.

import { TERMINAL_STATUSES } from './api.js'

/**
 * @typedef {{ state: 'none' | 'unknown' | 'passed' | 'failed' | 'pending', requires: string[], summary: string, details: unknown }} GateView
 */

/**
 * @param {any} deployment
 * @param {{ requires_success_in?: string[] } | undefined} environment
 * @returns {GateView}
 */
export function promotionGate (deployment, environment) {
  const gate = deployment.plan?.promotion_gate
  const requires = Array.isArray(gate?.requires_success_in) ? gate.requires_success_in : environment?.requires_success_in ?? []
  const where = requires.join(', ')
  if (gate !== undefined && gate !== null) {
    const message = typeof gate.message === 'string' && gate.message !== '' ? `: ${gate.message}` : ''
    if (gate.passed === true) return { state: 'passed', requires, summary: `Passed (requires ${where})${message}`, details: undefined }
    const verdict = deployment.dry_run ? 'Would refuse this plan' : 'Failed'
    return { state: 'failed', requires, summary: `${verdict} (requires ${where})${message}`, details: undefined }
  }
  const none = (/** @type {string} */ summary) => /** @type {GateView} */ ({ state: 'none', requires, summary, details: undefined })
  if (deployment.operation === 'restore-backup') return none('No promotion gate: a restore puts back a backup of this environment.')
  if (requires.length === 0) return none(`No promotion gate: ${deployment.environment} does not require an earlier environment.`)
  const rule = `Requires the same migrations to have been applied in ${where} first.`
  if (deployment.plan === null || deployment.plan === undefined) {
    return TERMINAL_STATUSES.has(deployment.status)
      ? { state: 'unknown', requires, summary: `${rule} Not checked: the deployment ended before its plan was made.`, details: undefined }
      : { state: 'pending', requires, summary: `${rule} Checked when the plan is made.`, details: undefined }
  }
  // A plan made by a server that did not yet record the gate in it.
  return { state: 'unknown', requires, summary: `${rule} This plan does not record the gate's result.`, details: undefined }
}
