import pg from 'pg'
import type { Test } from 'tap'
import type { Harness } from '../../helpers/harness.js'
import { migrationStates, unfinishedRows } from '../../reliability/helpers/target-state.js'

/** A deployment a test POSTed (202), and where it must end. One deployment per environment. */
export interface Posted {
  id: string
  environment: string
  migrations: Array<{ name: string }>
  /** Its final status. */
  expected: 'succeeded' | 'pending_approval' | 'rejected'
  /** Protected: it waited for approval (before `expected`). */
  gated: boolean
}

interface EventRow { type: string, data: Record<string, unknown> | null }

/** The status transitions a deployment's audit must hold, in order, for the path it took. */
function expectedTransitions (posted: Posted): string[] {
  const plan = ['queued→running']
  if (!posted.gated) return [...plan, 'running→succeeded']
  const gate = [...plan, 'running→pending_approval']
  if (posted.expected === 'pending_approval') return gate
  if (posted.expected === 'rejected') return [...gate, 'pending_approval→rejected']
  return [...gate, 'pending_approval→queued', 'queued→running', 'running→succeeded']
}

function transitionsOf (events: EventRow[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'status_changed') return [`${String(e.data?.from)}→${String(e.data?.to)}`]
    if (e.type === 'rejected') return ['pending_approval→rejected']
    return []
  })
}

/**
 * After a fault: the control database holds exactly the deployments POSTed, each in the state it
 * had to reach; each target has every migration of its deployment applied and recorded exactly
 * once (or none, if it never got approved); the control rows (applied_migrations) are all there;
 * and the audit has each status transition once, in order, and each migration's record once —
 * either its own `migration_applied` event or, for one committed on the target while the
 * control database was away, the `apply_resumed` event that re-recorded it.
 */
export async function checkAccounting (t: Test, h: Harness, controlUrl: string, posted: Posted[], label: string): Promise<void> {
  const control = new pg.Client({ connectionString: controlUrl })
  await control.connect()
  try {
    const { rows: [count] } = await control.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments')
    t.equal(count?.n, posted.length, `${label}: the control database holds exactly the ${posted.length} deployments POSTed`)
    for (const deployment of posted) {
      const name = `${label}: ${deployment.environment}`
      const { rows: [row] } = await control.query<{ status: string, report: { result?: { migrations_applied?: number } } | null }>(
        'SELECT status, report FROM deployments WHERE id = $1', [deployment.id])
      t.equal(row?.status, deployment.expected, `${name} ended ${deployment.expected}`)
      const applies = deployment.expected === 'succeeded'
      const states = await migrationStates(h.targets[deployment.environment] as string, deployment.migrations)
      t.same(states.filter((m) => m.recorded !== (applies ? 1 : 0) || m.tableExists !== applies).map((m) => m.name), [],
        `${name}: every migration ${applies ? 'applied and recorded exactly once' : 'untouched'} on the target`)
      t.equal(await unfinishedRows(h.targets[deployment.environment] as string), 0, `${name}: no unfinished history row`)
      const { rows: [recorded] } = await control.query<{ n: number }>('SELECT count(*)::int AS n FROM applied_migrations WHERE deployment_id = $1', [deployment.id])
      t.equal(recorded?.n, applies ? deployment.migrations.length : 0, `${name}: its control rows (applied_migrations) are all there`)
      if (applies) t.equal(row?.report?.result?.migrations_applied, deployment.migrations.length, `${name}: the report counts every migration`)

      const { rows: events } = await control.query<EventRow>('SELECT type, data FROM deployment_events WHERE deployment_id = $1 ORDER BY id', [deployment.id])
      t.equal(events[0]?.type, 'created', `${name}: the audit starts with its creation`)
      t.same(transitionsOf(events), expectedTransitions(deployment), `${name}: each status transition audited once, in order`)
      const appliedEvents = events.filter((e) => e.type === 'migration_applied').map((e) => String(e.data?.migration))
      const resumed = events.filter((e) => e.type === 'apply_resumed').flatMap((e) => (e.data?.applied_before as string[] | undefined) ?? [])
      t.same(appliedEvents.filter((m, i) => appliedEvents.indexOf(m) !== i), [], `${name}: no migration audited twice`)
      if (applies) {
        const missing = deployment.migrations.map((m) => m.name).filter((m) => !appliedEvents.includes(m) && !resumed.includes(m))
        t.same(missing, [], `${name}: every migration audited (applied, or re-recorded on resume)`)
      }
    }
  } finally {
    await control.end()
  }
}
