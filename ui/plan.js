// The plan a reviewer approves: every migration's SQL (as text, monospace), its squawk
// warnings, whether it runs outside a transaction, and the checksum the approval binds to.

import { formatElapsed, h } from './dom.js'

/** Above this many migrations only those with warnings start expanded. */
const EXPAND_ALL_UP_TO = 10

/** @param {{ rule: string, message: string }} warning */
function warningItem (warning) {
  return h('li', { class: 'warning' },
    h('span', { class: 'warning-icon', 'aria-hidden': 'true' }, '⚠'),
    h('span', { class: 'visually-hidden' }, 'Warning: '),
    h('code', { class: 'rule' }, warning.rule), ' ', h('span', null, warning.message))
}

/** @param {any} migration @param {number} index @param {number} count @param {boolean} forReview */
function migrationItem (migration, index, count, forReview) {
  const warnings = migration.warnings ?? []
  // Open for a reviewer (all of a short plan, the warned ones of a long one); closed once decided.
  const open = forReview && (count <= EXPAND_ALL_UP_TO || warnings.length > 0)
  return h('li', { class: 'migration', 'data-migration': migration.name },
    h('details', { open },
      h('summary', null,
        h('span', { class: 'migration-name' }, `${index + 1}. ${migration.name}`),
        warnings.length > 0 ? h('span', { class: 'pill pill-warning' }, `⚠ ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`) : null,
        migration.transactional === false ? h('span', { class: 'pill pill-attention' }, 'outside a transaction') : null,
        h('span', { class: 'pill', title: 'estimated duration' }, `≈ ${formatElapsed(migration.estimated_duration_seconds * 1000)}`)),
      warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': `Squawk warnings for ${migration.name}` }, warnings.map(warningItem)) : null,
      h('p', { class: 'migration-meta' },
        'Checksum ', h('code', null, migration.checksum),
        ` · estimate ${formatElapsed(migration.estimated_duration_seconds * 1000)}`,
        migration.estimate_basis ? ` (${migration.estimate_basis})` : '',
        migration.transactional === false ? ' · runs outside a transaction: a failure part-way leaves part of it applied' : ''),
      h('pre', { class: 'sql', 'aria-label': `SQL of ${migration.name}` }, h('code', null, migration.sql))))
}

/**
 * @param {any} deployment
 * @returns {HTMLElement}
 */
export function planSection (deployment) {
  const plan = deployment.plan
  const heading = h('h2', { id: 'plan-heading' }, 'Plan')
  if (plan === null) {
    const why = ['queued', 'running'].includes(deployment.status) ? 'The plan is not ready yet: the worker is still working it out.' : 'No plan: the deployment ended before planning.'
    return h('section', { 'aria-labelledby': 'plan-heading', class: 'plan' }, heading, h('p', { class: 'muted' }, why))
  }
  const migrations = plan.migrations ?? []
  const warnings = migrations.reduce((/** @type {number} */ n, /** @type {any} */ m) => n + (m.warnings?.length ?? 0), 0)
  const total = migrations.reduce((/** @type {number} */ n, /** @type {any} */ m) => n + m.estimated_duration_seconds, 0)
  const list = h('ol', { class: 'migrations' }, migrations.map((/** @type {any} */ m, /** @type {number} */ i) => migrationItem(m, i, migrations.length, deployment.status === 'pending_approval')))
  const toggle = (/** @type {boolean} */ open) => { for (const d of list.querySelectorAll('details')) d.open = open }
  return h('section', { 'aria-labelledby': 'plan-heading', class: 'plan' },
    heading,
    h('dl', { class: 'facts' },
      h('dt', null, 'Plan checksum'), h('dd', null, h('code', { class: 'checksum' }, plan.checksum)),
      h('dt', null, 'Migrations'), h('dd', null, String(plan.pending_migrations)),
      h('dt', null, 'Estimated time'), h('dd', null, formatElapsed(total * 1000)),
      h('dt', null, 'Squawk warnings'), h('dd', { class: warnings > 0 ? 'has-warnings' : null }, String(warnings))),
    warnings > 0 ? h('p', { class: 'callout callout-warning' }, `${warnings} squawk warning${warnings === 1 ? '' : 's'}: read ${warnings === 1 ? 'it' : 'them'} with the SQL below before deciding.`) : null,
    migrations.length > 1
      ? h('p', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', on: { click: () => toggle(true) } }, 'Expand all'),
        h('button', { type: 'button', class: 'secondary', on: { click: () => toggle(false) } }, 'Collapse all'))
      : null,
    migrations.length === 0 ? h('p', { class: 'muted' }, 'Nothing pending: this deployment applies no migration.') : list)
}
