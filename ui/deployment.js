// One deployment: who asked, what it will run, the decision, and — once released — its live
// progress, human log and report. Parts are re-rendered only when their data changes, so
// keyboard focus stays where the reader left it while the deployment moves.

import { ApiError, deploymentPath, environments, getJson, getText, request } from './api.js'
import { cancelSection } from './cancel.js'
import { decisionSection } from './decision.js'
import { formatElapsed, h, replaceChildren, statusBadge, timeAgo } from './dom.js'
import { describeEvent, humanStep } from './events.js'
import { promotionGate } from './gate.js'
import { followDeployment, isFinished, PENDING_POLL_INTERVAL_MS, POLL_INTERVAL_MS } from './live.js'
import { sourceSummary } from './overview.js'
import { planSection } from './plan.js'
import { effectsSection } from './effects.js'
import { FleetPanel } from './fleet.js'
import { reportSection } from './report.js'
import { driftSection } from './drift.js'
import { windowSection } from './window.js'

const STEP_ICONS = { passed: '✓', failed: '✗', running: '…', skipped: '–', pending: '·' }

/** @param {any[]} steps */
function stepList (steps) {
  if (steps.length === 0) return h('p', { class: 'muted' }, 'No step has started yet.')
  return h('ol', { class: 'steps' }, steps.map((step) => h('li', { class: `step step-${step.status}`, 'data-step': step.name },
    h('span', { class: 'step-icon', 'aria-hidden': 'true' }, STEP_ICONS[/** @type {keyof typeof STEP_ICONS} */ (step.status)] ?? '·'),
    h('span', { class: 'step-name' }, humanStep(step.name)),
    h('span', { class: 'step-status' }, step.status),
    step.started_at !== null && step.finished_at !== null ? h('span', { class: 'step-time' }, formatElapsed(Date.parse(step.finished_at) - Date.parse(step.started_at))) : null,
    step.detail ? h('span', { class: 'step-detail' }, step.detail) : null)))
}

export class DeploymentView {
  /**
   * @param {HTMLElement} main
   * @param {any} environment
   * @param {{ name: string, roles: string[] } | null} me
   * @param {AbortSignal} signal
   */
  constructor (main, environment, me, signal) {
    this.main = main
    this.environment = environment
    this.me = me
    this.signal = signal
    /** @type {any} */
    this.deployment = null
    /** @type {Record<string, string>} */
    this.keys = {}
    this.following = false
    /** True while this page's own approve, reject or cancel is in flight: its notice is its own. */
    this.acting = false
    this.logRequests = 0
    /** A fleet deployment's targets by status (SPEC §14); empty otherwise. */
    this.fleet = new FleetPanel(signal)
    this.slots = {
      status: h('span', { class: 'status-slot' }),
      facts: h('div'),
      notice: h('p', { class: 'notice', role: 'status', tabindex: '-1' }),
      decision: h('div'),
      cancel: h('div'),
      window: h('div'),
      drift: h('div'),
      gate: h('div'),
      effects: h('div'),
      plan: h('div'),
      progress: h('div'),
      live: h('ol', { class: 'live-events', 'aria-label': 'Streamed events' }),
      liveMode: h('p', { class: 'live-mode muted' }),
      log: h('div'),
      report: h('div')
    }
  }

  /** @param {any} deployment */
  mount (deployment) {
    const s = this.slots
    replaceChildren(this.main,
      h('p', { class: 'back' }, h('a', { href: '#/' }, '← All deployments')),
      h('div', { class: 'title-row' }, h('h1', { tabindex: '-1' }, `Deployment to ${deployment.environment}`), s.status),
      s.facts, s.notice, s.decision, s.cancel, s.window, s.drift, s.gate, s.effects, s.plan, this.fleet.element,
      h('section', { 'aria-labelledby': 'progress-heading' }, h('h2', { id: 'progress-heading' }, 'Progress'), s.liveMode, s.progress, s.live),
      s.report, s.log)
    this.update(deployment)
  }

  /** Re-renders what changed. @param {any} deployment */
  update (deployment) {
    const before = this.deployment?.status
    this.deployment = deployment
    if (before === 'pending_approval' && deployment.status !== before && !this.acting) this.slots.notice.textContent = decidedElsewhere(deployment)
    this.part('status', deployment.status, () => [statusBadge(deployment.status)])
    this.part('facts', JSON.stringify([deployment.status, deployment.finished_at]), () => [this.facts(deployment)])
    this.part('decision', JSON.stringify([deployment.status, deployment.approval]), () => [decisionSection(deployment, { me: this.me, environment: this.environment, act: (...args) => this.act(...args) })])
    this.part('cancel', deployment.status, () => [cancelSection(deployment, { me: this.me, act: (...args) => this.act(...args) })])
    this.part('window', JSON.stringify([deployment.status, deployment.next_window_at, deployment.window_override]),
      () => [windowSection(deployment, { me: this.me, act: (...args) => this.act(...args) })])
    this.part('drift', deployment.environment, () => [driftSection(deployment.environment, this.signal)])
    const gate = promotionGate(deployment, this.environment)
    this.part('gate', JSON.stringify(gate), () => [this.gate(gate)])
    this.part('effects', JSON.stringify([deployment.plan?.checksum, deployment.report?.error]), () => [effectsSection(deployment)])
    this.part('plan', deployment.plan?.checksum ?? `none-${deployment.status}`, () => [planSection(deployment)])
    this.fleet.update(deployment)
    this.part('progress', JSON.stringify([deployment.status, deployment.steps]), () => [h('p', { class: 'current', 'aria-live': 'polite' }, this.currentState(deployment)), stepList(deployment.steps)])
    this.part('report', JSON.stringify(deployment.report), () => [deployment.report === null ? null : reportSection(deployment.report)])
    this.part('log', deployment.updated_at, () => { void this.refreshLog(); return null })
  }

  /**
   * Replaces a slot's content when `key` differs from last time.
   * @param {keyof DeploymentView['slots']} name @param {string} key @param {() => unknown[] | null} render
   */
  part (name, key, render) {
    if (this.keys[name] === key) return
    this.keys[name] = key
    const content = render()
    if (content !== null) replaceChildren(this.slots[name], ...content)
  }

  /** @param {any} d */
  currentState (d) {
    const running = d.steps.find((/** @type {any} */ s) => s.status === 'running')
    // While it runs, name the step it is on; a pending deployment's running step is only the wait itself.
    return `Status: ${d.status.replace(/_/g, ' ')}${running === undefined || d.status !== 'running' ? '' : ` — ${humanStep(running.name).toLowerCase()}`}`
  }

  /** @param {any} d */
  facts (d) {
    const flags = []
    if (d.dry_run || d.operation === 'preview-migrations') flags.push(h('li', { class: 'flag' }, 'Dry run: nothing will be applied'))
    if (d.skip_backup) flags.push(h('li', { class: 'flag flag-danger' }, 'No backup will be taken before applying (skip_backup)'))
    if (d.skip_health_check) flags.push(h('li', { class: 'flag flag-danger' }, 'Health checks are skipped (skip_health_check)'))
    const took = d.started_at !== null && d.finished_at !== null ? formatElapsed(Date.parse(d.finished_at) - Date.parse(d.started_at)) : null
    return h('div', null,
      h('dl', { class: 'facts' },
        h('dt', null, 'Id'), h('dd', null, h('code', null, d.id)),
        h('dt', null, 'Operation'), h('dd', null, `${d.operation} (${d.mode} mode)`),
        h('dt', null, 'Requested by'), h('dd', null, d.requested_by),
        h('dt', null, 'Source'), h('dd', null, sourceSummary(d.source)),
        d.working_directory !== null ? [h('dt', null, 'Directory'), h('dd', null, h('code', null, d.working_directory))] : null,
        h('dt', null, 'Created'), h('dd', null, timeAgo(d.created_at)),
        took === null ? null : [h('dt', null, 'Took'), h('dd', null, took)]),
      flags.length > 0 ? h('ul', { class: 'flags', 'aria-label': 'Safety settings changed for this deployment' }, flags) : null)
  }

  /** @param {import('./gate.js').GateView} gate */
  gate (gate) {
    return h('section', { 'aria-labelledby': 'gate-heading', class: 'gate' },
      h('h2', { id: 'gate-heading' }, 'Promotion gate'),
      h('p', { class: `gate-status gate-${gate.state}` }, gate.summary),
      gate.details === undefined ? null : h('details', null, h('summary', null, 'Gate details'), h('pre', { class: 'json' }, h('code', null, JSON.stringify(gate.details, null, 2)))))
  }

  /**
   * Approves, rejects or cancels, then shows the result and follows the deployment if it was released.
   * @param {string} path @param {unknown} body @param {HTMLElement[]} buttons @param {HTMLElement} error @param {string} success
   */
  async act (path, body, buttons, error, success) {
    for (const b of buttons) /** @type {HTMLButtonElement} */ (b).disabled = true
    error.textContent = ''
    this.acting = true
    try {
      const updated = await (await request(path, { method: 'POST', body, signal: this.signal })).json()
      this.slots.notice.textContent = updated.status === 'pending_approval' ? 'Approval recorded. More approvals are needed before it runs.' : success
      this.update(updated)
      this.slots.notice.focus()
      if (!isFinished(updated)) void this.follow().catch(() => {})
    } catch (e) {
      if (this.signal.aborted) return
      error.textContent = e instanceof ApiError ? e.message : `The request failed: ${String(e)}`
      for (const b of buttons) /** @type {HTMLButtonElement} */ (b).disabled = false
    } finally {
      this.acting = false
    }
  }

  /** Follows the deployment live until it settles. */
  async follow () {
    if (this.following) return
    this.following = true
    try {
      await followDeployment(this.deployment.id, {
        signal: this.signal,
        onUpdate: (d) => this.update(d),
        onMode: (mode, d) => { this.slots.liveMode.textContent = liveModeText(mode, d) },
        onEvent: (message) => this.slots.live.append(h('li', null, describeEvent(message)))
      })
      this.slots.liveMode.textContent = ''
    } finally {
      this.following = false
    }
  }

  async refreshLog () {
    const seq = ++this.logRequests
    try {
      const text = await getText(`${deploymentPath(this.deployment.id)}/log`, this.signal)
      // An older answer arriving after a newer one must not replace it.
      if (seq !== this.logRequests) return
      replaceChildren(this.slots.log, h('section', { 'aria-labelledby': 'log-heading' },
        h('h2', { id: 'log-heading' }, 'Log'),
        text === '' ? h('p', { class: 'muted' }, 'Nothing logged yet.') : h('pre', { class: 'log' }, h('code', null, text))))
    } catch { /* the next update retries */ }
  }
}

/** How the page follows the deployment, in words. @param {'stream' | 'polling'} mode @param {any} d */
function liveModeText (mode, d) {
  const pending = d.status === 'pending_approval'
  if (mode === 'stream') return pending ? 'Live: streaming events; a decision taken elsewhere shows here.' : 'Live: streaming events from the server.'
  return pending ? `Live: waiting for a decision, checking every ${PENDING_POLL_INTERVAL_MS / 1000} s.` : `Live: checking every ${POLL_INTERVAL_MS / 1000} s.`
}

/** What happened to a pending deployment, decided by someone else. @param {any} d */
function decidedElsewhere (d) {
  if (isFinished(d)) return `${typeof d.report?.error === 'string' ? d.report.error : `Now ${d.status.replace(/_/g, ' ')}`}. Nothing was applied.`
  const by = (d.approval?.approvals ?? []).map((/** @type {{by: string}} */ a) => a.by).join(', ')
  return `Approved${by === '' ? '' : ` by ${by}`}. The deployment is released to apply; its progress follows below.`
}

/**
 * Renders one deployment into `main` and follows it while it runs.
 * @param {HTMLElement} main @param {string} id @param {AbortSignal} signal @param {{ name: string, roles: string[] } | null} me
 */
export async function showDeployment (main, id, signal, me) {
  const [envs, deployment] = await Promise.all([environments(), getJson(deploymentPath(id), { signal })])
  if (signal.aborted) return
  const view = new DeploymentView(main, envs.find((/** @type {any} */ e) => e.name === deployment.environment), me, signal)
  view.mount(deployment)
  if (!isFinished(deployment)) void view.follow().catch(() => {})
  return view
}
