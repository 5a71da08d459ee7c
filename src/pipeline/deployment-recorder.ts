import type { Logger } from 'pino'
import type { Actor } from '../auth/identity.js'
import { maskSecrets, maskSecretsDeep } from '../lib/mask-secrets.js'
import { SYSTEM_ACTOR, type DeploymentRow, type Step, type StepName, type StepStatus } from '../domain/index.js'
import { appendEvent, type NewEvent } from '../store/events.js'
import type { Queryable } from '../store/pool.js'
import { saveStepsWithEvent, saveStepsWithEvents } from '../store/step-progress.js'

/**
 * Records a running deployment's progress: its steps (on the row) and its events (the audit
 * trail, whose `message` lines make the human log). Every text passes through `maskSecrets`.
 */
export class DeploymentRecorder {
  readonly steps: Step[]
  // While `together` runs: the events its calls would have written, and whether the steps changed.
  private batch: { events: NewEvent[], stepsChanged: boolean } | undefined

  constructor (private readonly db: Queryable, private readonly deployment: Pick<DeploymentRow, 'id' | 'steps'>, private readonly logger: Logger) {
    this.steps = [...deployment.steps]
  }

  /** Adds a line to the human log (and an event of `type` to the audit trail). */
  async log (message: string, type = 'log', data?: Record<string, unknown>): Promise<void> {
    await this.write(this.logEvent(message, type, data), false)
  }

  /**
   * Runs `record` (calls of log, event, startStep, finishStep and nothing slow) and writes what
   * it recorded in one statement at the end, in order, instead of one round trip each; what was
   * recorded before a failure is still written, before the failure is passed on.
   */
  async together (record: () => Promise<void>): Promise<void> {
    if (this.batch !== undefined) {
      await record()
      return
    }
    const batch = { events: [] as NewEvent[], stepsChanged: false }
    this.batch = batch
    const flush = async (): Promise<void> => {
      this.batch = undefined
      await saveStepsWithEvents(this.db, this.deployment.id, batch.stepsChanged ? this.steps : undefined, batch.events)
    }
    try {
      await record()
    } catch (error) {
      await flush().catch(() => {})
      throw error
    }
    await flush()
  }

  private async write (event: NewEvent, stepsChanged: boolean): Promise<void> {
    if (this.batch !== undefined) {
      this.batch.events.push(event)
      this.batch.stepsChanged ||= stepsChanged
      return
    }
    if (!stepsChanged) {
      await appendEvent(this.db, event)
      return
    }
    await saveStepsWithEvent(this.db, this.deployment.id, this.steps, { type: event.type, actor: event.actor ?? SYSTEM_ACTOR, data: event.data ?? {} })
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
    await this.write({ deploymentId: this.deployment.id, type, actor: name ?? SYSTEM_ACTOR, actorIdentity, data: masked }, false)
  }

  async startStep (name: StepName, detail?: string): Promise<void> {
    const step = this.findOrAdd(name)
    step.status = 'running'
    step.started_at = new Date().toISOString()
    step.finished_at = null
    step.detail = detail === undefined ? null : maskSecrets(detail)
    await this.write({ deploymentId: this.deployment.id, type: 'step_started', actor: SYSTEM_ACTOR, data: maskSecretsDeep({ step: name }) }, true)
  }

  async finishStep (name: StepName, status: Exclude<StepStatus, 'pending' | 'running'>, detail?: string): Promise<void> {
    const step = this.findOrAdd(name)
    const now = new Date().toISOString()
    step.status = status
    step.started_at ??= now
    step.finished_at = now
    if (detail !== undefined) step.detail = maskSecrets(detail)
    await this.write({ deploymentId: this.deployment.id, type: 'step_finished', actor: SYSTEM_ACTOR, data: maskSecretsDeep({ step: name, status, detail: step.detail }) }, true)
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
