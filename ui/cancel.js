// "Cancel": for the requester or an admin, while the deployment is queued or waits for approval.
// Asked in a dialog first, since nothing undoes it.

import { deploymentPath } from './api.js'
import { h } from './dom.js'
import { mayCancel } from './permissions.js'

/**
 * @param {any} d
 * @param {{
 *   me: { name: string, roles: string[] } | null,
 *   act: (path: string, body: unknown, buttons: HTMLElement[], error: HTMLElement, success: string) => Promise<void>
 * }} context
 * @returns {HTMLElement | null}
 */
export function cancelSection (d, context) {
  if (!mayCancel(context.me, d)) return null
  const whose = context.me?.name === d.requested_by ? 'You requested it, so you may cancel it' : 'As an admin you may cancel it'
  const error = h('p', { class: 'error', role: 'alert' })
  const open = h('button', { type: 'button', class: 'secondary cancel-deployment' }, 'Cancel deployment')
  const confirm = h('button', { type: 'submit', class: 'reject' }, 'Yes, cancel it')
  const keep = h('button', { type: 'button', class: 'secondary' }, 'Keep it')
  const form = h('form', { class: 'cancel-form' },
    h('h2', { id: 'cancel-heading' }, 'Cancel this deployment?'),
    h('p', null, 'Nothing will be applied, and it cannot be resumed: a new deployment would be needed.'),
    h('div', { class: 'actions' }, confirm, keep))
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { 'aria-labelledby': 'cancel-heading' }, form))
  open.addEventListener('click', () => dialog.showModal())
  keep.addEventListener('click', () => dialog.close())
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    dialog.close()
    void context.act(`${deploymentPath(d.id)}/cancel`, undefined, [open], error, 'Cancelled. Nothing was applied.')
  })
  return h('section', { 'aria-labelledby': 'cancel-section-heading', class: 'cancel' },
    h('h2', { id: 'cancel-section-heading' }, 'Cancel'),
    h('p', null, `${whose} while it is ${d.status.replace(/_/g, ' ')}.`),
    h('div', { class: 'actions' }, open),
    error,
    dialog)
}
