import t from 'tap'
import type pg from 'pg'
import { ControlSessions } from '../../src/store/control-sessions.js'
import { LOCK_NAMESPACES, tryAdvisoryLock } from '../../src/store/control-locks.js'
import { enterDeploymentJob } from '../../src/pipeline/job-gate.js'
import { startHarness } from '../helpers/harness.js'
import { recordDeployment } from '../helpers/pipeline-run.js'
import { until } from '../helpers/until.js'

const backendPid = async (session: pg.Client): Promise<number> => (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number

t.test('ControlSessions: the job gate\'s lock sessions, kept between jobs', async (t) => {
  const h = await startHarness({ worker: false, environments: { staging: {} } })
  t.teardown(h.close)
  const pool = h.runtime.pool
  const nameOf = async (pid: number): Promise<string | undefined> =>
    (await pool.query<{ name: string }>('SELECT application_name AS name FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.name
  // A closed connection's backend leaves pg_stat_activity a moment after the socket closes.
  const gone = async (pid: number, what: string): Promise<boolean> =>
    await until(async () => await nameOf(pid) === undefined ? true : undefined, what, 10_000, 10)

  await t.test('a released session is reused, without the locks its job took', async (t) => {
    const sessions = new ControlSessions(pool, 2, 4242)
    t.teardown(async () => { await sessions.close() })
    const first = await sessions.acquire()
    const pid = await backendPid(first)
    t.equal(await nameOf(pid), 'migration-deployer job pid 4242', 'named as a job\'s session while it holds one')
    t.ok(await tryAdvisoryLock(first, LOCK_NAMESPACES.deploymentLease, 'dep_a'), 'the job takes its lease')
    await sessions.release(first)
    t.equal(await nameOf(pid), 'migration-deployer idle job session pid 4242', 'parked under an idle name (tests and operators look for job sessions)')

    const other = await pool.connect()
    try {
      t.ok(await tryAdvisoryLock(other, LOCK_NAMESPACES.deploymentLease, 'dep_a'), 'the lease is free once the job released its session')
      await other.query('SELECT pg_advisory_unlock_all()')
    } finally {
      other.release()
    }
    const again = await sessions.acquire()
    t.equal(await backendPid(again), pid, 'the next job gets the same connection, no new backend')
    t.equal(await nameOf(pid), 'migration-deployer job pid 4242')
    await sessions.release(again)
  })

  await t.test('a parked session that broke is replaced by a new one', async (t) => {
    const sessions = new ControlSessions(pool, 2)
    t.teardown(async () => { await sessions.close() })
    const first = await sessions.acquire()
    const pid = await backendPid(first)
    await sessions.release(first)
    await pool.query('SELECT pg_terminate_backend($1)', [pid])
    const next = await sessions.acquire()
    const nextPid = await backendPid(next)
    t.not(nextPid, pid, 'a new backend')
    t.ok(await tryAdvisoryLock(next, LOCK_NAMESPACES.deploymentLease, 'dep_b'), 'and it works')
    await sessions.release(next)
  })

  await t.test('at most maxParked are kept; after close none is', async (t) => {
    const sessions = new ControlSessions(pool, 1)
    const a = await sessions.acquire()
    const b = await sessions.acquire()
    const [pidA, pidB] = [await backendPid(a), await backendPid(b)]
    await sessions.release(a)
    await sessions.release(b)
    t.ok(await nameOf(pidA), 'the first released is parked')
    t.ok(await gone(pidB, 'the one past maxParked closed'), 'the one past maxParked is closed')
    await sessions.close()
    t.ok(await gone(pidA, 'the parked one closed'), 'close ends the parked one')
    const late = await sessions.acquire()
    const latePid = await backendPid(late)
    await sessions.release(late)
    t.ok(await gone(latePid, 'the late one closed'), 'a session released after close is closed, not parked')
  })

  await t.test('through the job gate: the environment\'s turn passes to the next deployment when the gate closes', async (t) => {
    const ctx = h.runtime.pipeline
    t.ok(ctx.sessions, 'the runtime keeps sessions for its jobs')
    const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key);\n' }
    const first = await recordDeployment(h, { environment: 'staging', migrations: [widgets] })
    const gate = await enterDeploymentJob(ctx, first, 'plan')
    t.match(gate, { kind: 'run', holdsTurn: true })
    if (gate.kind !== 'run') return
    t.match(await enterDeploymentJob(ctx, first, 'plan'), { kind: 'wait', reason: 'another worker is running this deployment' }, 'its lease is held')
    await gate.close()
    const guard = await pool.connect()
    try {
      t.ok(await tryAdvisoryLock(guard, LOCK_NAMESPACES.environmentGuard, 'staging'), 'the environment guard was released with the session')
      t.ok(await tryAdvisoryLock(guard, LOCK_NAMESPACES.deploymentLease, first), 'and the lease')
      await guard.query('SELECT pg_advisory_unlock_all()')
    } finally {
      guard.release()
    }
  })
})
