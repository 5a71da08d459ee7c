import type { MigrationFile, OperationName, Plan } from '../domain/index.js'
import type { DeploymentRun } from './deployment-run.js'
import type { Ending } from './end-deployment.js'

/** A plan that goes on to apply, after the approval gate where the environment has one. */
export interface Planned {
  plan: Plan
  /** The migration files the plan read; an apply in the same job that plans again under the lock reads them. */
  source?: MigrationFile[]
}

/** What planning decided: the deployment ends now (a dry run, nothing to do), or its plan goes on. */
export type PlanOutcome = { ending: Ending } | { planned: Planned }

export interface ApplyInput {
  /**
   * True for an approved plan: apply exactly it, or fail as stale if the target moved on. False
   * (an environment without an approval gate): plan again under the lock and apply what is pending then.
   */
  frozen: boolean
  /** The plan this same job made; absent when the apply runs as its own job after approval. */
  planned?: Planned
}

/**
 * What a deployment does, in two parts the pipeline runs around the shared steps (the approval
 * gate, the ending): `plan` (SPEC §1 steps 1–7: validate, check health, find what to do, preview)
 * and `apply` (steps 9–12: under the environment's lock, change the target, check health, verify,
 * report). Each throws DeploymentFailure to fail the deployment. Chosen once per job by
 * operationFor (operations.ts); a new operation is a new entry there.
 */
export interface Operation {
  readonly name: OperationName
  readonly approval: {
    /** Whether `approval.auto_approve_roles` may approve it (never for a restore). */
    autoApprove: boolean
    /** What the approval step's detail and the log say is waiting, e.g. `the restore`; default the deployment. */
    subject?: string
  }
  plan: (run: DeploymentRun) => Promise<PlanOutcome>
  /** Absent for an operation that only plans (a preview). */
  apply?: (run: DeploymentRun, input: ApplyInput) => Promise<Ending>
}
