import t, { type Test } from 'tap'
import type { DeploymentResource } from '../../src/schemas/deployment.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness, type TokenName } from '../helpers/harness.js'

/**
 * The audit trail: `deployment_events` is append-only in the database itself, and every state
 * change, approval, rejection, cancel, expiry and resolve is an event with its actor, readable
 * through GET /deployments/:id/events.
 */

interface AuditEvent { id: number, type: string, actor: string | null, message: string | null, data: Record<string, unknown> | null, created_at: string }

const base = { working_directory: 'app', protected: true, health_check: { checks: ['connectivity'], timeout: '5s' } }
const h: Harness = await startHarness({
  environments: {
    dev: { working_directory: 'broken-third' },
    approved: { ...base, approval: { required_approvals: 1, roles: ['approver'] } },
    rejected: { ...base, approval: { required_approvals: 1, roles: ['approver'] } },
    cancelled: { ...base, approval: { required_approvals: 1, roles: ['approver'] } },
    expiring: { ...base, approval: { required_approvals: 1, roles: ['approver'], expires_after: '1s' } }
  }
})
t.teardown(h.close)

async function start (environment: string, as: TokenName = 'ci-bot'): Promise<DeploymentResource> {
  const created = await h.request('POST', '/deployments', { as, body: { environment, source: { commit: 'abc123' } } })
  if (created.statusCode !== 202) throw new Error(`${created.statusCode} ${created.body}`)
  return await h.waitFor(created.json().id, ['pending_approval', 'succeeded', 'failed'])
}

async function eventsOf (id: string): Promise<AuditEvent[]> {
  const response = await h.request('GET', `/deployments/${id}/events`, { as: 'viewer' })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.json<{ events: AuditEvent[] }>().events
}

/** The status changes an event list records, as `from→to by actor`. */
function transitions (events: AuditEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'status_changed') return [`${String(e.data?.from)}→${String(e.data?.to)} by ${String(e.actor)}`]
    if (e.type === 'rejected') return [`pending_approval→rejected by ${String(e.actor)}`]
    if (e.type === 'cancelled') return [`${String(e.data?.from)}→cancelled by ${String(e.actor)}`]
    return []
  })
}

function assertEveryEventHasAnActor (t: Test, events: AuditEvent[]): void {
  t.ok(events.length > 0)
  const anonymous = events.filter((e) => e.actor === null || e.actor === '')
  t.same(anonymous.map((e) => e.type), [], 'every event names its actor')
  t.ok(events.every((e, i) => i === 0 || e.id > (events[i - 1]?.id ?? 0)), 'in order')
  t.equal(events[0]?.type, 'created')
}

t.test('approved and applied: every step is an event with its actor', async (t) => {
  const pending = await start('approved')
  t.equal(pending.status, 'pending_approval')
  t.equal((await h.request('POST', `/deployments/${pending.id}/approve`, { as: 'alice', body: { comment: 'fine' } })).statusCode, 200)
  t.equal((await h.waitFor(pending.id, ['succeeded', 'failed'])).status, 'succeeded')
  const events = await eventsOf(pending.id)
  assertEveryEventHasAnActor(t, events)
  t.match(events[0], { type: 'created', actor: 'ci-bot', data: { environment: 'approved', source: { commit: 'abc123' }, skip_backup: false, skip_health_check: false } })
  t.same(transitions(events), [
    'queued→running by system',
    'running→pending_approval by system',
    'pending_approval→queued by alice',
    'queued→running by system',
    'running→succeeded by system'
  ])
  t.match(events.find((e) => e.type === 'approved'), { actor: 'alice', data: { plan_checksum: pending.plan?.checksum, comment: 'fine' } })
  t.ok(events.some((e) => e.type === 'migration_applied' && e.data?.migration === '20250110090000_init'), 'each applied migration is recorded')
})

t.test('rejected, cancelled and expired are events with their actor', async (t) => {
  const toReject = await start('rejected')
  t.equal((await h.request('POST', `/deployments/${toReject.id}/reject`, { as: 'bob', body: { reason: 'not now' } })).statusCode, 200)
  const rejected = await eventsOf(toReject.id)
  assertEveryEventHasAnActor(t, rejected)
  t.same(transitions(rejected).slice(-1), ['pending_approval→rejected by bob'])
  t.match(rejected.find((e) => e.type === 'rejected'), { data: { reason: 'not now' } })

  const toCancel = await start('cancelled')
  t.equal((await h.request('POST', `/deployments/${toCancel.id}/cancel`, { as: 'ci-bot' })).statusCode, 200)
  const cancelled = await eventsOf(toCancel.id)
  assertEveryEventHasAnActor(t, cancelled)
  t.same(transitions(cancelled).slice(-1), ['pending_approval→cancelled by ci-bot'])

  const toExpire = await start('expiring')
  t.equal((await h.waitFor(toExpire.id, ['expired', 'succeeded', 'failed'])).status, 'expired')
  const expired = await eventsOf(toExpire.id)
  assertEveryEventHasAnActor(t, expired)
  t.same(transitions(expired).slice(-1), ['pending_approval→expired by system'])
})

t.test('a failed deployment and the resolve that follows are recorded with their actors', async (t) => {
  const failed = await start('dev')
  t.equal(failed.status, 'failed')
  const events = await eventsOf(failed.id)
  assertEveryEventHasAnActor(t, events)
  t.same(transitions(events).slice(-1), ['running→failed by system'])
  t.ok(events.some((e) => e.type === 'migration_failed' && e.data?.migration === '20250203090000_add_tags'))

  // Broken-third's failure rolls back with its row, so mark an unfinished row the way a failed
  // non-transactional migration leaves it, then resolve it through the API.
  await queryDatabase(h.targets.dev as string, `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (gen_random_uuid()::text, repeat('a', 64), '20250203090000_add_tags', now(), 0)`)
  const resolved = await h.request('POST', '/environments/dev/migrations/20250203090000_add_tags/resolve', { as: 'alice', body: { as: 'rolled_back' } })
  t.equal(resolved.statusCode, 200, resolved.body)
  const { rows } = await h.runtime.pool.query<{
    deployment_id: string | null
    environment: string
    type: string
    actor: string
    data: Record<string, unknown>
  }>(`SELECT deployment_id, environment, type, actor, data FROM deployment_events WHERE environment = 'dev' ORDER BY id`)
  t.same(rows, [{ deployment_id: null, environment: 'dev', type: 'migration_resolved', actor: 'alice', data: { migration: '20250203090000_add_tags', as: 'rolled_back', rows_changed: 1 } }])
})

t.test('the database itself refuses UPDATE, DELETE and TRUNCATE of the audit trail', async (t) => {
  const { rows } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployment_events')
  const before = rows[0]?.n ?? 0
  t.ok(before > 10, `${before} events to protect`)
  const attempts: Array<[string, string]> = [
    ['UPDATE one row', `UPDATE deployment_events SET actor = 'mallory' WHERE id = (SELECT min(id) FROM deployment_events)`],
    ['UPDATE every row', `UPDATE deployment_events SET message = NULL`],
    ['UPDATE an environment event', `UPDATE deployment_events SET actor = 'mallory' WHERE environment IS NOT NULL`],
    ['DELETE one row', 'DELETE FROM deployment_events WHERE id = (SELECT max(id) FROM deployment_events)'],
    ['DELETE every row', 'DELETE FROM deployment_events'],
    ['TRUNCATE', 'TRUNCATE deployment_events'],
    ['TRUNCATE … CASCADE', 'TRUNCATE deployments, deployment_events CASCADE']
  ]
  for (const [what, sql] of attempts) {
    const error = await h.runtime.pool.query(sql).then(() => undefined, (e: { code?: string, message?: string }) => e)
    t.ok(error !== undefined, `${what} is refused`)
    if (what === 'TRUNCATE') {
      // The webhook outbox references the events, so PostgreSQL refuses a plain TRUNCATE even
      // before the trigger would; with CASCADE (below) the trigger is what refuses it.
      t.match(error?.message, /deployment_events is append-only|cannot truncate a table referenced in a foreign key constraint/)
      continue
    }
    t.equal(error?.code, '42501', `${what}: insufficient_privilege`)
    t.match(error?.message, /deployment_events is append-only/)
  }
  const after = await h.runtime.pool.query<{ n: number, mallory: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE actor = 'mallory')::int AS mallory FROM deployment_events`)
  t.equal(after.rows[0]?.n, before, 'nothing was removed')
  t.equal(after.rows[0]?.mallory, 0, 'nothing was rewritten')
  // Appending still works (the service's only write).
  const inserted = await h.runtime.pool.query(`INSERT INTO deployment_events (environment, type, actor) VALUES ('dev', 'probe', 'test') RETURNING id`)
  t.equal(inserted.rowCount, 1)
})
