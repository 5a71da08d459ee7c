// Whether the signed-in person may approve or reject, and if not, why — in words. The server
// decides (it refuses with 403/409/410 whatever the page shows); this only spares a click that
// cannot work and says who can act instead.

/**
 * @typedef {{ name: string, roles: string[] }} Me
 * @typedef {{
 *   status: string,
 *   requested_by: string,
 *   environment: string,
 *   approval: null | { required: number, approvals: Array<{ by: string }>, expires_at: string | null }
 * }} Deployment
 * @typedef {{ name: string, approval: null | { roles: string[], allow_self_approval: boolean, required_approvals: number } }} Environment
 */

/**
 * @param {Me | null} me
 * @param {Deployment} deployment
 * @param {Environment | undefined} environment
 * @param {number} [now]
 * @returns {{ approve: string | null, reject: string | null }} null where the action is open, else the reason it is not
 */
export function decisionBlockers (me, deployment, environment, now = Date.now()) {
  const both = (/** @type {string} */ reason) => ({ approve: reason, reject: reason })
  if (me === null) return both('Sign in with a token to approve or reject.')
  if (deployment.status !== 'pending_approval') return both(`This deployment is ${deployment.status.replace(/_/g, ' ')}; only one waiting for approval can be approved or rejected.`)
  const expiresAt = deployment.approval?.expires_at
  if (expiresAt !== null && expiresAt !== undefined && Date.parse(expiresAt) <= now) {
    return both(`The approval window closed at ${new Date(expiresAt).toLocaleString()}; create a new deployment to ask again.`)
  }
  const roles = environment?.approval?.roles ?? ['approver', 'admin']
  if (!me.roles.includes('admin') && !me.roles.some((role) => roles.includes(role))) {
    return both(`${me.name} (${me.roles.join(', ')}) may not approve or reject in ${deployment.environment}: that needs the role ${[...new Set([...roles, 'admin'])].join(' or ')}.`)
  }
  if (me.name === deployment.requested_by && environment?.approval?.allow_self_approval !== true) {
    return both(`You (${me.name}) requested this deployment, so another approver must review it.`)
  }
  const approvals = deployment.approval?.approvals ?? []
  if (approvals.some((approval) => approval.by === me.name)) {
    const missing = (deployment.approval?.required ?? 1) - approvals.length
    return { approve: `You (${me.name}) already approved this plan; ${missing} more approval${missing === 1 ? '' : 's'} from someone else ${missing === 1 ? 'is' : 'are'} needed.`, reject: null }
  }
  return { approve: null, reject: null }
}

/**
 * Whether the signed-in person may cancel: the requester or an admin, while the deployment is
 * queued or waits for approval (the server's rule).
 * @param {Me | null} me
 * @param {{ status: string, requested_by: string }} deployment
 * @returns {boolean}
 */
export function mayCancel (me, deployment) {
  if (me === null) return false
  if (deployment.status !== 'queued' && deployment.status !== 'pending_approval') return false
  return me.name === deployment.requested_by || me.roles.includes('admin')
}
