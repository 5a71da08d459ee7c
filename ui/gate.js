// The promotion gate: `requires_success_in` says which environments must have applied the same
// migrations first. Where the deployment carries the gate's result (the plan, the report or a
// step), it is shown; where it does not, the page says what the gate requires and no more.

/**
 * @typedef {{ state: 'none' | 'unknown' | 'passed' | 'failed' | 'pending', requires: string[], summary: string, details: unknown }} GateView
 */

/** Finds a gate result wherever a version of the server may put it. @param {any} deployment */
function findGateResult (deployment) {
  const candidates = [
    deployment.promotion_gate,
    deployment.plan?.promotion_gate,
    deployment.plan?.gate,
    deployment.report?.promotion_gate,
    deployment.report?.result?.promotion_gate
  ]
  const found = candidates.find((candidate) => candidate !== undefined && candidate !== null)
  if (found !== undefined) return found
  const step = (deployment.steps ?? []).find((/** @type {{name: string}} */ s) => /gate|promot/i.test(s.name))
  return step === undefined ? undefined : { status: step.status, detail: step.detail }
}

/** @param {unknown} result @returns {GateView['state']} */
function stateOf (result) {
  if (typeof result === 'boolean') return result ? 'passed' : 'failed'
  if (result === null || typeof result !== 'object') return 'unknown'
  const r = /** @type {Record<string, unknown>} */ (result)
  if (r.passed === true || r.ok === true) return 'passed'
  if (r.passed === false || r.ok === false) return 'failed'
  const status = typeof r.status === 'string' ? r.status.toLowerCase() : ''
  if (['passed', 'pass', 'ok', 'success', 'succeeded', 'satisfied'].includes(status)) return 'passed'
  if (['failed', 'fail', 'error', 'blocked', 'unsatisfied'].includes(status)) return 'failed'
  if (['pending', 'running', 'waiting'].includes(status)) return 'pending'
  return 'unknown'
}

/** @param {unknown} result */
function messageOf (result) {
  if (result === null || typeof result !== 'object') return null
  const r = /** @type {Record<string, unknown>} */ (result)
  for (const key of ['message', 'detail', 'reason', 'error']) {
    if (typeof r[key] === 'string' && r[key] !== '') return /** @type {string} */ (r[key])
  }
  return null
}

/**
 * @param {any} deployment
 * @param {{ requires_success_in?: string[] } | undefined} environment
 * @returns {GateView}
 */
export function promotionGate (deployment, environment) {
  const requires = environment?.requires_success_in ?? []
  const result = findGateResult(deployment)
  if (result === undefined) {
    if (requires.length === 0) return { state: 'none', requires, summary: `No promotion gate: ${deployment.environment} does not require an earlier environment.`, details: undefined }
    return { state: 'unknown', requires, summary: `Requires the same migrations to have been applied in ${requires.join(', ')} first. This deployment does not report the gate's result.`, details: undefined }
  }
  const state = stateOf(result)
  const where = requires.length > 0 ? ` (requires ${requires.join(', ')})` : ''
  const words = { passed: 'Passed', failed: 'Failed', pending: 'Not checked yet', unknown: 'Reported', none: '' }
  const message = messageOf(result)
  return { state, requires, summary: `${words[state]}${where}${message === null ? '' : `: ${message}`}`, details: result }
}
