import type pg from 'pg'
import { Counter, Gauge, type Registry } from 'prom-client'
import { countDriftDetections, listDriftStates } from '../store/drift.js'

// Each metric registers itself in the registry it names (`registers`): `new` is all it takes.
/* eslint-disable no-new */

/**
 * The drift watch's metrics (SPEC §15), read from the control database at scrape time like the
 * other state gauges, so the API reports what the workers' checks found: whether each watched
 * environment is drifted now, and how many times new drift was detected (from the audit trail, so
 * it only grows, whichever process did the check).
 */
export function registerDriftMetrics (registry: Registry, sources: { pool: pg.Pool, environments: string[] }): void {
  const configured = new Set(sources.environments)
  new Gauge({
    name: 'migration_deployer_environment_drifted',
    help: 'Whether the drift watch finds an environment\'s target changed outside the deployer: 1 drifted, 0 clean or not known yet',
    labelNames: ['environment'] as const,
    registers: [registry],
    async collect () {
      try {
        const rows = await listDriftStates(sources.pool)
        this.reset()
        for (const row of rows) if (configured.has(row.environment)) this.set({ environment: row.environment }, row.state === 'drifted' ? 1 : 0)
      } catch {
        this.reset()
      }
    }
  })
  new Counter({
    name: 'migration_deployer_drift_detections_total',
    help: 'New drift detected by the drift watch (one per drift.detected event), by environment',
    labelNames: ['environment'] as const,
    registers: [registry],
    async collect () {
      try {
        const rows = await countDriftDetections(sources.pool)
        this.reset()
        for (const row of rows) if (configured.has(row.environment)) this.inc({ environment: row.environment }, row.n)
      } catch {
        this.reset()
      }
    }
  })
}
