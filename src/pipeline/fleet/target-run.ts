import type { Logger } from 'pino'
import type { EnvironmentConfig } from '../../config/load.js'
import type { DeploymentRow, StepName, StepStatus } from '../../domain/index.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import type { NewEvent } from '../../store/events.js'
import { DeploymentRecorder } from '../deployment-recorder.js'
import { DeploymentRun } from '../deployment-run.js'
import type { PipelineContext } from '../pipeline-context.js'

/**
 * The recorder of one fleet target's pipeline: its steps and human-log lines stay in memory and
 * go into the target's row (its report) when it ends: the fleet's deployment row is not rewritten
 * for each step of each of hundreds of targets. The one exception is what the pipeline writes
 * together with another record (a migration applied, with its row in applied_migrations): that
 * log line goes to the deployment's human log, prefixed with the target's name.
 */
export class TargetRecorder extends DeploymentRecorder {
  readonly lines: string[] = []

  constructor (db: PipelineContext['pool'], deployment: Pick<DeploymentRow, 'id'>, logger: Logger, private readonly target: string) {
    super(db, { id: deployment.id, steps: [] }, logger)
  }

  override async log (message: string): Promise<void> {
    this.lines.push(maskSecrets(message))
  }

  override logEvent (message: string, type = 'log', data?: Record<string, unknown>): NewEvent {
    this.lines.push(maskSecrets(message))
    return super.logEvent(`[${this.target}] ${message}`, type, { ...data, target: this.target })
  }

  override async event (): Promise<void> {}

  override async startStep (name: StepName, detail?: string): Promise<void> {
    const step = this.step(name)
    step.status = 'running'
    step.started_at = new Date().toISOString()
    step.finished_at = null
    step.detail = detail === undefined ? null : maskSecrets(detail)
  }

  override async finishStep (name: StepName, status: Exclude<StepStatus, 'pending' | 'running'>, detail?: string): Promise<void> {
    const step = this.step(name)
    const now = new Date().toISOString()
    step.status = status
    step.started_at ??= now
    step.finished_at = now
    if (detail !== undefined) step.detail = maskSecrets(detail)
  }

  private step (name: StepName): DeploymentRow['steps'][number] {
    let step = this.steps.find((candidate) => candidate.name === name)
    if (step === undefined) {
      step = { name, status: 'pending', started_at: null, finished_at: null, detail: null }
      this.steps.push(step)
    }
    return step
  }
}

/**
 * One target's run inside a fleet deployment: the deployment as the target sees it (its group's
 * plan), the target's URL, and an in-memory recorder. Every step of the single-database pipeline
 * (health checks, backup, lock, apply, verify) takes it as it takes any DeploymentRun.
 */
export class TargetRun extends DeploymentRun {
  override readonly fleetTarget: string

  constructor (
    ctx: PipelineContext, deployment: DeploymentRow, environment: EnvironmentConfig,
    override readonly recorder: TargetRecorder, logger: Logger, target: { name: string, url: string }
  ) {
    super(ctx, deployment, environment, recorder, logger)
    this.fleetTarget = target.name
    this.targetUrl = target.url
  }

  private readonly targetUrl: string

  override databaseUrl (): string {
    return this.targetUrl
  }
}
