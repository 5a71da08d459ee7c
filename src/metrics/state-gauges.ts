import { countActiveFleetTargets } from '../store/fleet-targets.js'
import type { Queue } from 'bullmq'
import type pg from 'pg'
import { Gauge, Registry } from 'prom-client'
import { countUnfinishedDeployments } from '../store/deployments.js'
import { registerDriftMetrics } from './drift-gauges.js'

// Each gauge registers itself in the registry it names (`registers`): `new` is all it takes.
/* eslint-disable no-new */

export interface StateSources {
  pool: pg.Pool
  /** Queues whose depth to report, by the name shown in the `queue` label. */
  queues: Record<string, Queue>
  environments: string[]
}

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const

/** A gauge whose source is down reports nothing rather than failing the whole scrape. */
async function orEmpty (gauge: { reset: () => void }, read: () => Promise<void>): Promise<void> {
  try {
    await read()
  } catch {
    gauge.reset()
  }
}

/**
 * Gauges read from the shared state at scrape time (the control database and the queues), so
 * every process reports the same truth whichever did the work: aggregate them with max(), not sum().
 */
export function createStateRegistry (sources: StateSources): Registry {
  const registry = new Registry()

  new Gauge({
    name: 'migration_deployer_deployments_in_progress',
    help: 'Deployments not finished yet, by environment and status (queued, running, pending_approval)',
    labelNames: ['environment', 'status'] as const,
    registers: [registry],
    async collect () {
      await orEmpty(this, async () => {
        const rows = await countUnfinishedDeployments(sources.pool)
        this.reset()
        for (const environment of sources.environments) for (const status of ['queued', 'running', 'pending_approval']) this.set({ environment, status }, 0)
        for (const row of rows) this.set({ environment: row.environment, status: row.status }, row.n)
      })
    }
  })

  new Gauge({
    name: 'migration_deployer_pending_approvals',
    help: 'Deployments waiting for approval, by environment',
    labelNames: ['environment'] as const,
    registers: [registry],
    async collect () {
      await orEmpty(this, async () => {
        const rows = (await countUnfinishedDeployments(sources.pool)).filter((row) => row.status === 'pending_approval')
        this.reset()
        for (const environment of sources.environments) this.set({ environment }, 0)
        for (const row of rows) this.set({ environment: row.environment }, row.n)
      })
    }
  })

  new Gauge({
    name: 'migration_deployer_fleet_targets',
    help: 'Targets of fleet deployments not finished yet (SPEC §14), by environment and target status',
    labelNames: ['environment', 'status'] as const,
    registers: [registry],
    async collect () {
      await orEmpty(this, async () => {
        const rows = await countActiveFleetTargets(sources.pool)
        this.reset()
        for (const row of rows) this.set({ environment: row.environment, status: row.status }, row.n)
      })
    }
  })

  new Gauge({
    name: 'migration_deployer_queue_jobs',
    help: 'Jobs in the BullMQ queues, by queue and state (waiting is the queue depth)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect () {
      await orEmpty(this, async () => {
        this.reset()
        for (const [name, queue] of Object.entries(sources.queues)) {
          const counts = await queue.getJobCounts(...JOB_STATES)
          for (const state of JOB_STATES) this.set({ queue: name, state }, counts[state] ?? 0)
        }
      })
    }
  })

  registerDriftMetrics(registry, sources)
  return registry
}
