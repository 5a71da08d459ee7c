import type { Logger } from 'pino'
import type { EnvironmentConfig } from '../config/load.js'
import type { DeploymentRow, HealthCheckOutcome } from '../domain/index.js'
import { transitionDeployment, type DeploymentPatch } from '../store/deployments.js'
import type { DeploymentRecorder } from './deployment-recorder.js'
import type { PipelineContext } from './pipeline-context.js'
import { targetUrlFor } from './target-url.js'

/**
 * One deployment's run in one job: the process's context, the deployment as this job knows it,
 * its environment, its recorder and its clock. Every step takes this one value instead of a long
 * list of parameters. runDeploymentPhase makes one per job.
 */
export class DeploymentRun {
  /** When this job began working on the deployment: the report's and banner's durations start here. */
  readonly startedMs = performance.now()
  /** The fleet target this run applies to (a fleet's per-target run, SPEC §14); null for one database. */
  readonly fleetTarget: string | null = null
  private url: string | undefined

  constructor (
    readonly ctx: PipelineContext,
    /** The claimed row, then what this job saved on it (the plan). */
    public deployment: DeploymentRow,
    readonly environment: EnvironmentConfig,
    readonly recorder: DeploymentRecorder,
    readonly logger: Logger
  ) {}

  /** The target database's URL, read from the variable the environment names (never stored). */
  databaseUrl (): string {
    this.url ??= targetUrlFor(this.environment, this.ctx.env)
    return this.url
  }

  /** Saves fields of the running deployment (its plan, …) and keeps `deployment` in step. */
  async save (patch: Omit<DeploymentPatch, 'status' | 'steps' | 'report' | 'finished_at'>): Promise<void> {
    await transitionDeployment(this.ctx.pool, this.deployment.id, ['running'], patch)
    this.deployment = { ...this.deployment, ...patch }
  }

  /** How the pre-deployment health check went, as this job or the plan job before it recorded it. */
  healthBefore (): HealthCheckOutcome {
    const step = this.recorder.steps.find((s) => s.name === 'health_check_before')
    return step?.status === 'passed' ? 'passed' : step?.status === 'failed' ? 'failed' : 'skipped'
  }

  /** Milliseconds since this job began. */
  elapsedMs (): number {
    return performance.now() - this.startedMs
  }
}
