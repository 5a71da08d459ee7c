// The start page: what waits for approval, per environment, and what ran lately.

import { deploymentPath, environments, getJson } from './api.js'
import { formatDuration, formatElapsed, h, replaceChildren, safeLink, statusBadge, timeAgo, timeLeft } from './dom.js'

const RECENT_PAGE = 20

/** @param {any} source */
export function sourceSummary (source) {
  if (source === null || source === undefined) return h('span', { class: 'muted' }, 'not given')
  const parts = []
  if (source.commit !== undefined) parts.push(h('code', null, source.commit))
  if (source.ref !== undefined) parts.push(h('span', null, ` on ${source.ref}`))
  if (source.url !== undefined) parts.push(' ', safeLink(source.url, 'link'))
  return parts.length === 0 ? h('span', { class: 'muted' }, 'not given') : h('span', null, parts)
}

/** @param {any} deployment */
function timeLeftOf (deployment) {
  const expiresAt = deployment.approval?.expires_at
  return expiresAt === null || expiresAt === undefined ? h('span', { class: 'muted' }, 'no expiry') : timeLeft(expiresAt)
}

/** @param {any} deployment */
function pendingCard (deployment) {
  const approvals = deployment.approval?.approvals?.length ?? 0
  const required = deployment.approval?.required ?? 0
  const warnings = (deployment.plan?.migrations ?? []).reduce((/** @type {number} */ n, /** @type {any} */ m) => n + m.warnings.length, 0)
  return h('li', { class: 'card', 'data-deployment': deployment.id },
    h('a', { class: 'card-title', href: `#/deployments/${encodeURIComponent(deployment.id)}` }, 'Review ', h('code', null, deployment.id)),
    h('dl', { class: 'facts' },
      h('dt', null, 'Requested by'), h('dd', null, deployment.requested_by),
      h('dt', null, 'Source'), h('dd', null, sourceSummary(deployment.source)),
      h('dt', null, 'Age'), h('dd', null, timeAgo(deployment.created_at)),
      h('dt', null, 'Time left'), h('dd', null, timeLeftOf(deployment)),
      h('dt', null, 'Approvals'), h('dd', { class: 'approval-count' }, `${approvals} of ${required}`),
      h('dt', null, 'Plan'), h('dd', null, `${deployment.plan?.pending_migrations ?? 0} migration${deployment.plan?.pending_migrations === 1 ? '' : 's'}`,
        warnings > 0 ? h('span', { class: 'warning-count' }, ` · ${warnings} warning${warnings === 1 ? '' : 's'}`) : null)
    )
  )
}

/** @param {any} environment */
function environmentRules (environment) {
  const rules = []
  if (environment.approval !== null) {
    const a = environment.approval
    rules.push(`needs ${a.required_approvals} approval${a.required_approvals === 1 ? '' : 's'} from ${a.roles.join(' or ')}`)
    rules.push(`expires after ${formatDuration(a.expires_after_seconds * 1000)}`)
  }
  if (environment.requires_success_in.length > 0) rules.push(`promotion gate: ${environment.requires_success_in.join(', ')} first`)
  return rules.join(' · ')
}

/** @param {any[]} envs @param {any[]} pending */
function pendingSection (envs, pending) {
  const names = [...new Set([...envs.filter((e) => e.approval !== null).map((e) => e.name), ...pending.map((d) => d.environment)])]
  const sections = names.map((name) => {
    const environment = envs.find((e) => e.name === name)
    const waiting = pending.filter((d) => d.environment === name)
    return h('section', { class: 'environment', 'aria-labelledby': `env-${name}` },
      h('h3', { id: `env-${name}` }, name, ' ', h('span', { class: 'count' }, `(${waiting.length} waiting)`)),
      environment === undefined ? null : h('p', { class: 'rules' }, environmentRules(environment)),
      waiting.length === 0 ? h('p', { class: 'muted' }, 'Nothing waiting for approval.') : h('ul', { class: 'cards' }, waiting.map(pendingCard))
    )
  })
  return h('section', { 'aria-labelledby': 'pending-heading' },
    h('h2', { id: 'pending-heading' }, 'Waiting for approval'),
    sections.length === 0 ? h('p', { class: 'muted' }, 'No environment here needs approval.') : sections)
}

/** @param {any} deployment */
function outcome (deployment) {
  const report = deployment.report
  if (report === null) return h('span', { class: 'muted' }, deployment.status === 'pending_approval' ? 'waiting for approval' : 'in progress')
  return String(report.message ?? report.error ?? report.status ?? '')
}

/** @param {any} deployment */
function recentRow (deployment) {
  const duration = deployment.started_at !== null && deployment.finished_at !== null ? formatElapsed(Date.parse(deployment.finished_at) - Date.parse(deployment.started_at)) : ''
  return h('tr', { 'data-deployment': deployment.id },
    h('td', { 'data-label': 'Deployment' }, h('a', { href: `#/deployments/${encodeURIComponent(deployment.id)}` }, deployment.id)),
    h('td', { 'data-label': 'Environment' }, deployment.environment, deployment.dry_run || deployment.operation === 'preview-migrations' ? h('span', { class: 'muted' }, ' (preview)') : null),
    h('td', { 'data-label': 'Status' }, statusBadge(deployment.status)),
    h('td', { 'data-label': 'Requested by' }, deployment.requested_by),
    h('td', { 'data-label': 'Created' }, timeAgo(deployment.created_at)),
    h('td', { 'data-label': 'Took' }, duration),
    h('td', { 'data-label': 'Outcome', class: 'outcome' }, outcome(deployment))
  )
}

/** @param {any[]} first @param {string | null} firstCursor */
function recentSection (first, firstCursor) {
  const body = h('tbody', null, first.map(recentRow))
  const more = h('p', null)
  let cursor = firstCursor
  const showMore = () => {
    replaceChildren(more, cursor === null
      ? null
      : h('button', { type: 'button', class: 'secondary', on: { click: loadMore } }, 'Show older deployments'))
  }
  async function loadMore () {
    const page = await getJson(`/deployments?limit=${RECENT_PAGE}&cursor=${encodeURIComponent(/** @type {string} */ (cursor))}`)
    body.append(...page.deployments.map(recentRow))
    cursor = page.next_cursor
    showMore()
  }
  showMore()
  return h('section', { 'aria-labelledby': 'recent-heading' },
    h('h2', { id: 'recent-heading' }, 'Recent deployments'),
    first.length === 0
      ? h('p', { class: 'muted' }, 'No deployments yet.')
      : h('div', { class: 'table-wrap' }, h('table', { class: 'recent' },
        h('thead', null, h('tr', null, ['Deployment', 'Environment', 'Status', 'Requested by', 'Created', 'Took', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
        body)),
    more)
}

/**
 * Renders the overview into `main`.
 * @param {HTMLElement} main
 * @param {AbortSignal} signal
 */
export async function showOverview (main, signal) {
  const [envs, pendingList, recent] = await Promise.all([
    environments(),
    getJson('/deployments?status=pending_approval&limit=200', { signal }),
    getJson(`/deployments?limit=${RECENT_PAGE}`, { signal })
  ])
  // The list omits approvals and plans; read each pending deployment for its count and expiry.
  const pending = await Promise.all(pendingList.deployments.map((/** @type {any} */ d) => getJson(deploymentPath(d.id), { signal })))
  if (signal.aborted) return
  replaceChildren(main,
    h('div', { class: 'title-row' },
      h('h1', { tabindex: '-1' }, 'Deployments'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => window.dispatchEvent(new Event('hashchange')) } }, 'Refresh')),
    pendingSection(envs, pending),
    recentSection(recent.deployments, recent.next_cursor))
}
