import t from 'tap'
import { batched } from '../../src/lib/batched.js'
import { LOCK_NAMESPACES } from '../../src/store/control-locks.js'
import { insertDeployments, type DeploymentToInsert, type NewDeployment } from '../../src/store/deployments.js'
import { createControlPool } from '../../src/store/pool.js'
import { createControlDatabase, databaseUrl, dropDatabase } from '../helpers/databases.js'
import { until } from '../helpers/until.js'

const control = await createControlDatabase()
const pool = createControlPool(databaseUrl(control), { max: 6 })
t.teardown(async () => {
  await pool.end()
  await dropDatabase(control)
})

let next = 0
function toInsert (environment: string, options: Partial<NewDeployment> = {}): DeploymentToInsert {
  const id = options.id ?? `dep_insert_${++next}`
  return {
    deployment: {
      id,
      operation: 'deploy-migrations',
      environment,
      mode: 'deploy',
      requested_by: 'ci-bot',
      dry_run: false,
      skip_backup: false,
      skip_health_check: false,
      working_directory: null,
      source: { ref: `ref-${id}` },
      inline_migrations: null,
      ...options
    },
    created: { actor: 'ci-bot', data: { environment, note: `created ${id}` } }
  }
}

const ticketsOf = async (ids: string[]): Promise<number[]> =>
  (await pool.query<{ apply_ticket: string }>('SELECT apply_ticket FROM deployments WHERE id = ANY($1) ORDER BY array_position($1, id)', [ids])).rows.map((r) => Number(r.apply_ticket))

t.test('several deployments in one statement: rows in the order given, each with its created event, tickets in that order', async (t) => {
  const items = [toInsert('staging'), toInsert('production'), toInsert('dev', { dry_run: true, operation: 'preview-migrations', mode: 'dev' }), toInsert('staging')]
  const rows = await insertDeployments(pool, items)
  t.same(rows.map((r) => r.id), items.map((i) => i.deployment.id))
  t.same(rows.map((r) => [r.status, r.phase, r.environment, r.dry_run, r.source]), items.map((i) => ['queued', 'plan', i.deployment.environment, i.deployment.dry_run, i.deployment.source]))
  t.same(rows.map((r) => r.inline_migrations), [null, null, null, null], 'the uploaded bundle does not come back')
  const ids = items.map((i) => i.deployment.id)
  const events = await pool.query<{ deployment_id: string, type: string, actor: string, data: unknown }>('SELECT deployment_id, type, actor, data FROM deployment_events WHERE deployment_id = ANY($1) ORDER BY id', [ids])
  t.same(events.rows, items.map((i) => ({ deployment_id: i.deployment.id, type: 'created', actor: 'ci-bot', data: i.created.data })), 'one created event each, in order')
  const tickets = await ticketsOf(ids)
  t.same([...tickets].sort((a, b) => a - b), tickets, 'tickets increase in the order given')
})

t.test('a deployment that may apply waits for its environment\'s ticket lock; a dry run and another environment do not', async (t) => {
  const holder = await pool.connect()
  t.teardown(() => { holder.release() })
  await holder.query('BEGIN')
  await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACES.applyTicket, 'staging'])

  const others = await insertDeployments(pool, [toInsert('production'), toInsert('staging', { dry_run: true, operation: 'preview-migrations' })])
  t.equal(others.length, 2, 'another environment and a dry run to the locked one are recorded while the lock is held')

  const waiting = insertDeployments(pool, [toInsert('production'), toInsert('staging')])
  // Wait until PostgreSQL reports the statement waiting for the advisory lock (no sleeps).
  await until(async () => {
    const { rows } = await pool.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
    return rows.length > 0 ? true : undefined
  }, 'the insert to wait for the advisory lock', 10_000, 1)
  // The holder numbers its ticket only now: a statement that had numbered its rows before waiting would have lower ones.
  const { rows: [held] } = await holder.query<{ ticket: string }>("SELECT nextval('deployment_apply_ticket_seq') AS ticket")
  await holder.query('COMMIT')
  const rows = await waiting
  const tickets = await ticketsOf(rows.map((r) => r.id))
  t.ok(tickets.every((ticket) => ticket > Number(held?.ticket)), `tickets ${tickets.join(', ')} come after the holder's ${String(held?.ticket)}: none was numbered before the lock was free`)
})

t.test('batched: concurrent inserts share statements, and a bad row fails alone', async (t) => {
  const statements: number[] = []
  const insert = batched(async (items: readonly DeploymentToInsert[]) => {
    statements.push(items.length)
    return await insertDeployments(pool, items)
  }, { maxBatchSize: 100, maxInFlight: 1 })
  const [existing] = await insertDeployments(pool, [toInsert('staging')])
  const items = [toInsert('staging'), toInsert('production'), toInsert('staging', { id: existing?.id }), toInsert('dev')]
  const settled = await Promise.allSettled(items.map(insert))
  t.same(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  t.match((settled[2] as PromiseRejectedResult).reason, { code: '23505' }, 'the duplicate id gets its own unique violation')
  t.same(statements, [1, 3, 1, 1, 1], 'the three that queued went as one statement, which failed as a whole and was retried one by one')
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployment_events WHERE deployment_id = ANY($1)', [items.map((i) => i.deployment.id)])
  t.equal(rows[0]?.n, 4, 'one created event for each of the three recorded, plus the existing one: nothing of the failed statement remains')
})
