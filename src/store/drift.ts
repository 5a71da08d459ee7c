import type { Queryable } from './pool.js'

export type DriftChange = { object: string, change: 'added' | 'removed' | 'changed' }

/** An environment's drift watch state (a row of `environment_drift`). */
export interface DriftState {
  environment: string
  baseline_fingerprint: string | null
  baseline_objects: Record<string, string> | null
  baseline_deployment_id: string | null
  baseline_at: Date | null
  state: 'unknown' | 'clean' | 'drifted'
  drift_fingerprint: string | null
  changes: DriftChange[]
  detected_at: Date | null
  checked_at: Date | null
}

export async function getDriftState (db: Queryable, environment: string, options: { forUpdate?: boolean } = {}): Promise<DriftState | undefined> {
  const { rows } = await db.query<DriftState>(`SELECT * FROM environment_drift WHERE environment = $1${options.forUpdate === true ? ' FOR UPDATE' : ''}`, [environment])
  return rows[0]
}

/** What a deployment left on the target: the drift watch compares with it. */
export interface Baseline { fingerprint: string, objects: Record<string, string>, deploymentId: string }

/** The fingerprint a deployment left: the new baseline, and the drift state is clean again. */
export async function saveBaseline (db: Queryable, environment: string, baseline: Baseline): Promise<void> {
  await db.query(
    `INSERT INTO environment_drift (environment, baseline_fingerprint, baseline_objects, baseline_deployment_id, baseline_at, state, changes)
     VALUES ($1, $2, $3, $4, now(), 'clean', '[]')
     ON CONFLICT (environment) DO UPDATE SET baseline_fingerprint = $2, baseline_objects = $3, baseline_deployment_id = $4, baseline_at = now(),
       state = 'clean', drift_fingerprint = NULL, changes = '[]', detected_at = NULL`,
    [environment, baseline.fingerprint, JSON.stringify(baseline.objects), baseline.deploymentId]
  )
}

/** Records the outcome of one check in the history, and the state it leaves. */
export async function recordDriftCheck (db: Queryable, check: {
  environment: string
  outcome: 'clean' | 'drifted' | 'no_baseline' | 'skipped' | 'error'
  fingerprint: string | null
  changes: DriftChange[]
  durationMs: number | null
  detail: string | null
  state?: { state: 'clean' | 'drifted', driftFingerprint: string | null, detectedAt: 'now' | 'keep' | null }
}): Promise<void> {
  await db.query(
    'INSERT INTO drift_checks (environment, outcome, fingerprint, changes, duration_ms, detail) VALUES ($1, $2, $3, $4, $5, $6)',
    [check.environment, check.outcome, check.fingerprint, JSON.stringify(check.changes), check.durationMs, check.detail]
  )
  if (check.state === undefined) return
  const detected = check.state.detectedAt === 'now' ? 'now()' : check.state.detectedAt === 'keep' ? 'environment_drift.detected_at' : 'NULL'
  await db.query(
    `INSERT INTO environment_drift (environment, state, drift_fingerprint, changes, detected_at, checked_at) VALUES ($1, $2, $3, $4, now(), now())
     ON CONFLICT (environment) DO UPDATE SET state = $2, drift_fingerprint = $3, changes = $4, detected_at = ${detected}, checked_at = now()`,
    [check.environment, check.state.state, check.state.driftFingerprint, JSON.stringify(check.changes)]
  )
}

/** Whether a deployment to the environment is applying (or about to): drift is never reported then. */
export async function deploymentRunning (db: Queryable, environment: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `SELECT 1 FROM deployments WHERE environment = $1 AND status = 'running' AND NOT dry_run LIMIT 1`, [environment]
  )
  return (rowCount ?? 0) > 0
}

/** The last checks of an environment, newest first. */
export interface DriftCheckRow { checked_at: Date, outcome: string, changes: DriftChange[], duration_ms: number | null }

export async function listDriftChecks (db: Queryable, environment: string, limit = 20): Promise<DriftCheckRow[]> {
  const { rows } = await db.query<DriftCheckRow>(
    'SELECT checked_at, outcome, changes, duration_ms FROM drift_checks WHERE environment = $1 ORDER BY checked_at DESC, id DESC LIMIT $2', [environment, limit]
  )
  return rows
}

/** Each watched environment's drift state (the drift metric reads it at scrape time). */
export async function listDriftStates (db: Queryable): Promise<Array<{ environment: string, state: DriftState['state'] }>> {
  const { rows } = await db.query<{ environment: string, state: DriftState['state'] }>('SELECT environment, state FROM environment_drift ORDER BY environment')
  return rows
}

/** How many times new drift was detected per environment, ever (the audit trail keeps every `drift.detected`). */
export async function countDriftDetections (db: Queryable): Promise<Array<{ environment: string, n: number }>> {
  const { rows } = await db.query<{ environment: string, n: number }>(
    `SELECT environment, count(*)::int AS n FROM deployment_events WHERE environment IS NOT NULL AND deployment_id IS NULL AND type = 'drift.detected' GROUP BY environment`
  )
  return rows
}
