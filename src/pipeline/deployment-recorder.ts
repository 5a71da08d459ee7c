import type { Logger } from 'pino'
import type { Actor } from '../auth/identity.js'
import { maskSecrets, maskSecretsDeep } from '../lib/mask-secrets.js'
import { SYSTEM_ACTOR, type DeploymentRow, type Step, type StepName, type StepStatus } from '../domain/index.js'
import { appendEvent, type NewEvent } from '../store/events.js'
import type { Queryable } from '../store/pool.js'
import { saveStepsWithEvent } from '../store/step-progress.js'

/**
 * Records a running deployment's progress: its steps (on the row) and its events (the audit
 * trail, whose `message` lines make the human log). Every text passes through `maskSecrets`.
 */
export class DeploymentRecorder {
  readonly steps: Step[]

  constructor (private readonly db: Queryable, private readonly deployment: Pick<DeploymentRow, 'id' | 'steps'>, private readonly logger: Logger) {
    this.steps = [...deployment.steps]
  }

  /** Adds a line to the human log (and an event of `type` to the audit trail). */
  async log (message: string, type = 'log', data?: Record<string, unknown>): Promise<void> {
    await appendEvent(this.db, this.logEvent(message, type, data))
  }

  /** The event `log` would append, masked, for a caller that writes it together with something else. */
  logEvent (message: string, type = 'log', data?: Record<string, unknown>): NewEvent {
    return {
      deploymentId: this.deployment.id,
      type,
      actor: SYSTEM_ACTOR,
      message: maskSecrets(message),
      data: data === undefined ? null : maskSecretsDeep(data)
    }
  }

  /**
   * An audit event with no log line; without an `actor` it is the service's own doing. A principal
   * as the actor records its issuer and subject too (OIDC and SSO principals, SPEC §13).
   */
  async event (type: string, data?: Record<string, unknown>, actor?: string | Actor): Promise<void> {
    const name = typeof actor === 'string' ? actor : actor?.name
    const actorIdentity = typeof actor === 'object' ? actor.identity ?? null : null
    const masked = data === undefined ? null : maskSecretsDeep(data)
    await appendEvent(this.db, { deploymentId: this.deployment.id, type, actor: name ?? SYSTEM_ACTOR, actorIdentity, data: masked })
  }

  async startStep (name: StepName, detail?: string): Promise<void> {
    const step = this.findOrAdd(name)
    step.status = 'running'
    step.started_at = new Date().toISOString()
    step.finished_at = null
    step.detail = detail === undefined ? null : maskSecrets(detail)
    await saveStepsWithEvent(this.db, this.deployment.id, this.steps, { type: 'step_started', actor: SYSTEM_ACTOR, data: maskSecretsDeep({ step: name }) })
  }

  async finishStep (name: StepName, status: Exclude<StepStatus, 'pending' | 'running'>, detail?: string): Promise<void> {
    const step = this.findOrAdd(name)
    const now = new Date().toISOString()
    step.status = status
    step.started_at ??= now
    step.finished_at = now
    if (detail !== undefined) step.detail = maskSecrets(detail)
    await saveStepsWithEvent(this.db, this.deployment.id, this.steps, { type: 'step_finished', actor: SYSTEM_ACTOR, data: maskSecretsDeep({ step: name, status, detail: step.detail }) })
    this.logger.info({ step: name, status }, `step ${name} ${status}`)
  }

  /** The step currently running, if any (the one a failure belongs to). */
  runningStep (): StepName | undefined {
    return this.steps.find((step) => step.status === 'running')?.name
  }

  private findOrAdd (name: StepName): Step {
    let step = this.steps.find((candidate) => candidate.name === name)
    if (step === undefined) {
      step = { name, status: 'pending', started_at: null, finished_at: null, detail: null }
      this.steps.push(step)
    }
    return step
  }
}
