import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'

/**
 * The metrics a process observes itself, in one registry per process: Node's default process
 * metrics, and what the notification dispatcher (in worker processes) sees once per finished
 * deployment. Counters and histograms add up across processes: sum them in PromQL.
 */
export const processRegistry = new Registry()
collectDefaultMetrics({ register: processRegistry, prefix: 'migration_deployer_' })

export const deploymentsFinished = new Counter({
  name: 'migration_deployer_deployments_finished_total',
  help: 'Deployments that reached a final status, by environment and status',
  labelNames: ['environment', 'status'] as const,
  registers: [processRegistry]
})

export const pipelineDuration = new Histogram({
  name: 'migration_deployer_pipeline_duration_seconds',
  help: 'Time a deployment spent in the pipeline (claimed by a worker until finished, approval wait excluded), by environment and final status',
  labelNames: ['environment', 'status'] as const,
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  registers: [processRegistry]
})

export const approvalWait = new Histogram({
  name: 'migration_deployer_approval_wait_seconds',
  help: 'Time a deployment waited in pending_approval until approved, rejected, cancelled or expired, by environment',
  labelNames: ['environment'] as const,
  buckets: [10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600],
  registers: [processRegistry]
})

export const migrationDuration = new Histogram({
  name: 'migration_deployer_migration_duration_seconds',
  help: 'Time one migration took to apply (with its history row), by environment',
  labelNames: ['environment'] as const,
  buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
  registers: [processRegistry]
})

export const fleetTargetsFinished = new Counter({
  name: 'migration_deployer_fleet_targets_finished_total',
  help: 'Targets of finished fleet deployments (SPEC §14), by environment and how each ended (succeeded, failed, skipped)',
  labelNames: ['environment', 'status'] as const,
  registers: [processRegistry]
})

export const webhookDeliveries = new Counter({
  name: 'migration_deployer_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by event and outcome (delivered, failed = will retry, gave_up)',
  labelNames: ['event', 'outcome'] as const,
  registers: [processRegistry]
})

export const driftCheckDuration = new Histogram({
  name: 'migration_deployer_drift_check_duration_seconds',
  help: 'Time one drift check took to read the target\'s schema fingerprint, by environment',
  labelNames: ['environment'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [processRegistry]
})
