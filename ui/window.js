// The deployment window (SPEC §15): an approved deployment outside its environment's window waits
// as `waiting_for_window` and starts by itself at `next_window_at`. Shown with the local time and
// how long is left; an admin may start it now with a reason (audited, sent as a webhook).

import { deploymentPath } from './api.js'
import { formatDuration, h } from './dom.js'

/**
 * @param {any} d
 * @param {{
 *   me: { name: string, roles: string[] } | null,
 *   act: (path: string, body: unknown, buttons: HTMLElement[], error: HTMLElement, success: string) => Promise<void>
 * }} context
 * @param {number} [now]
 * @returns {HTMLElement | null}
 */
export function windowSection (d, context, now = Date.now()) {
  const override = d.window_override
  if (d.status !== 'waiting_for_window') {
    if (override === null || override === undefined) return null
    return h('section', { 'aria-labelledby': 'window-heading', class: 'window' },
      h('h2', { id: 'window-heading' }, 'Deployment window'),
      h('p', { class: 'window-overridden' }, `Overridden by ${override.by} at ${new Date(override.at).toLocaleString()}: ${override.reason}`))
  }
  const at = d.next_window_at === null || d.next_window_at === undefined ? null : new Date(d.next_window_at)
  const when = at === null
    ? 'It starts by itself when the window opens.'
    : h('span', null, 'It starts by itself at ',
      h('time', { datetime: at.toISOString(), title: at.toISOString(), class: 'next-window' }, at.toLocaleString()),
      ` (in ${formatDuration(at.getTime() - now)}).`)
  return h('section', { 'aria-labelledby': 'window-heading', class: 'window' },
    h('h2', { id: 'window-heading' }, 'Waiting for the deployment window'),
    h('p', { class: 'window-wait' }, `Approved; ${d.environment} is outside its deployment window now. `, when),
    context.me?.roles.includes('admin') === true ? overrideForm(d, context) : h('p', { class: 'muted' }, 'An admin can start it now, with a reason.'))
}

/** The admin's break-glass: a required reason, then POST /deployments/:id/override-window. @param {any} d @param {any} context */
function overrideForm (d, context) {
  const error = h('p', { class: 'error', role: 'alert' })
  const reason = /** @type {HTMLInputElement} */ (h('input', { id: 'override-reason', name: 'reason', type: 'text', autocomplete: 'off' }))
  const button = h('button', { type: 'submit', class: 'reject' }, 'Start now (override the window)')
  const form = h('form', { class: 'override-window' },
    h('label', { for: 'override-reason' }, 'Reason (audited, sent to the webhooks)'), reason,
    h('div', { class: 'actions' }, button), error)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (reason.value.trim() === '') { error.textContent = 'Say why it may not wait for its window.'; return }
    void context.act(`${deploymentPath(d.id)}/override-window`, { reason: reason.value.trim() }, [button], error, 'Window overridden: the deployment is released to apply; its progress follows below.')
  })
  return form
}
