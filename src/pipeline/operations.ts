import type { DeploymentRow, OperationName } from '../domain/index.js'
import { applyMigrations } from './apply-phase.js'
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

const OPERATIONS: Record<OperationName, Operation> = {
  'deploy-migrations': deployMigrations,
  'preview-migrations': previewMigrations,
  'restore-backup': restoreBackup
}

/** The operation a deployment runs: chosen here, once, from its `operation`. */
export function operationFor (deployment: Pick<DeploymentRow, 'operation'>): Operation {
  return OPERATIONS[deployment.operation]
}
