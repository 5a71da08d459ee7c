import type { EnvironmentConfig } from '../config/load.js'
import type { DeploymentRow, OperationName } from '../domain/index.js'
import { applyMigrations } from './apply-phase.js'
import { applyFleet } from './fleet/apply-fleet.js'
import { planFleet } from './fleet/plan-fleet.js'
import type { Operation } from './operation.js'
import { planMigrations } from './plan-phase.js'
import { applyRestore, planRestore } from './restore-phase.js'

/** Applies pending migrations through the environment's migration tool. */
export const deployMigrations: Operation = { name: 'deploy-migrations', approval: { autoApprove: true }, plan: planMigrations, apply: applyMigrations }

/** A dry run of deploy-migrations: the same plan, reported, never applied. */
export const previewMigrations: Operation = { name: 'preview-migrations', approval: { autoApprove: false }, plan: planMigrations }

/** Returns the environment to a verified backup, through the same gate as a migration. */
export const restoreBackup: Operation = {
  name: 'restore-backup',
  approval: { autoApprove: false, subject: 'the restore' },
  plan: planRestore,
  apply: applyRestore
}

/** deploy-migrations on a fleet (SPEC §14): one plan grouped by history state, one approval, then the rollout. */
export const deployFleet: Operation = { name: 'deploy-migrations', approval: { autoApprove: true }, plan: planFleet, apply: applyFleet }

/** A dry run on a fleet: the grouped plan, reported, never applied. */
export const previewFleet: Operation = { name: 'preview-migrations', approval: { autoApprove: false }, plan: planFleet }

const OPERATIONS: Record<OperationName, Operation> = {
  'deploy-migrations': deployMigrations,
  'preview-migrations': previewMigrations,
  'restore-backup': restoreBackup
}

/** The operation a deployment runs: chosen here, once, from its `operation` and whether its environment is a fleet. */
export function operationFor (deployment: Pick<DeploymentRow, 'operation'>, environment?: Pick<EnvironmentConfig, 'targets'>): Operation {
  if (environment?.targets !== undefined && deployment.operation === 'deploy-migrations') return deployFleet
  if (environment?.targets !== undefined && deployment.operation === 'preview-migrations') return previewFleet
  return OPERATIONS[deployment.operation]
}
