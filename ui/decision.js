// The decision: approvals so far and the time left, then "Approve" (with an optional comment)
// and "Reject" (with a required reason, asked in a dialog) — or, for someone who may not decide,
// both disabled with the reason in words.

import { deploymentPath } from './api.js'
import { h, timeAgo, timeAt, timeLeft } from './dom.js'
import { decisionBlockers } from './permissions.js'

/**
 * @typedef {{
 *   me: { name: string, roles: string[] } | null,
 *   environment: any,
 *   act: (path: string, body: unknown, buttons: HTMLElement[], error: HTMLElement, success: string) => Promise<void>
 * }} DecisionContext
 */

/**
 * The approval panel: approvals so far, time left and, while pending, the decision controls.
 * @param {any} d @param {DecisionContext} context
 */
export function decisionSection (d, context) {
  if (d.approval === null) return null
  const { required, approvals, expires_at: expiresAt } = d.approval
  const pending = d.status === 'pending_approval'
  const section = h('section', { 'aria-labelledby': 'decision-heading', class: `decision${pending ? ' decision-open' : ''}` },
    h('h2', { id: 'decision-heading' }, 'Approval'),
    h('p', { class: 'approval-summary' },
      h('strong', { class: 'approval-count' }, `${approvals.length} of ${required}`), ` approval${required === 1 ? '' : 's'}`,
      pending && expiresAt !== null ? [' · ', timeLeft(expiresAt), ' (until ', timeAt(expiresAt), ')'] : null),
    approvals.length === 0
      ? null
      : h('ul', { class: 'approvals' }, approvals.map((/** @type {any} */ a) => h('li', null, h('strong', null, a.by), ' approved ', timeAgo(a.at), a.comment ? [': ', h('q', null, a.comment)] : null))))
  if (pending) section.append(...decisionControls(d, context))
  return section
}

/** @param {any} d @param {DecisionContext} context @returns {HTMLElement[]} */
function decisionControls (d, context) {
  const blocked = decisionBlockers(context.me, d, context.environment)
  const reasonText = blocked.approve === blocked.reject ? blocked.approve : [blocked.approve, blocked.reject].filter(Boolean).join(' ')
  const reason = h('p', { id: 'decision-reason', class: 'blocked' }, reasonText ?? '')
  reason.hidden = reasonText === null || reasonText === ''
  const error = h('p', { class: 'error', role: 'alert' })
  const comment = h('textarea', { id: 'approve-comment', rows: '2', maxlength: '2000', disabled: blocked.approve !== null })
  const approve = h('button', { type: 'button', class: 'approve', disabled: blocked.approve !== null, 'aria-describedby': blocked.approve === null ? null : 'decision-reason' }, 'Approve')
  const reject = h('button', { type: 'button', class: 'reject', disabled: blocked.reject !== null, 'aria-describedby': blocked.reject === null ? null : 'decision-reason' }, 'Reject')
  const dialog = rejectDialog(d, error, context)
  approve.addEventListener('click', () => {
    const text = /** @type {HTMLTextAreaElement} */ (comment).value.trim()
    void context.act(`${deploymentPath(d.id)}/approve`, text === '' ? {} : { comment: text }, [approve, reject], error, 'Approved. The deployment is released to apply; its progress follows below.')
  })
  reject.addEventListener('click', () => dialog.showModal())
  return [
    reason,
    h('div', { class: 'field' }, h('label', { for: 'approve-comment' }, 'Comment (optional)'), comment),
    h('div', { class: 'actions' }, approve, reject),
    error,
    dialog
  ]
}

/** @param {any} d @param {HTMLElement} error @param {DecisionContext} context @returns {HTMLDialogElement} */
function rejectDialog (d, error, context) {
  const reason = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'reject-reason', rows: '4', maxlength: '2000', required: true }))
  const confirm = h('button', { type: 'submit', class: 'reject' }, 'Reject deployment')
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel')
  const form = h('form', { class: 'reject-form' },
    h('h2', { id: 'reject-heading' }, 'Reject this deployment'),
    h('p', null, 'Nothing will be applied. The requester sees your reason.'),
    h('div', { class: 'field' }, h('label', { for: 'reject-reason' }, 'Reason'), reason),
    h('div', { class: 'actions' }, confirm, cancel))
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { 'aria-labelledby': 'reject-heading' }, form))
  cancel.addEventListener('click', () => dialog.close())
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const text = reason.value.trim()
    if (text === '') { reason.setCustomValidity('Say why it is rejected.'); reason.reportValidity(); return }
    dialog.close()
    void context.act(`${deploymentPath(d.id)}/reject`, { reason: text }, [confirm], error, 'Rejected. Nothing was applied.')
  })
  reason.addEventListener('input', () => reason.setCustomValidity(''))
  return dialog
}
