import t from 'tap'
import { DEFAULT_RELIABILITY, readReliabilitySettings } from '../../src/config/reliability.js'
import { isConnectionError } from '../../src/lib/connection-errors.js'
import { historyIdFor } from '../../src/pipeline/resume.js'

t.test('history-row ids: a UUID in Prisma\'s v4 layout, the same for the same deployment and migration, different otherwise', async (t) => {
  const id = historyIdFor('dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6', '20250110090000_init')
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(id.length, 36, 'fits varchar(36)')
  t.equal(historyIdFor('dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6', '20250110090000_init'), id, 'deterministic')
  t.not(historyIdFor('dep_01JH7Z0A8Q9YB4W1D2K3M4N5P7', '20250110090000_init'), id, 'another deployment, another id')
  t.not(historyIdFor('dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6', '20250110090001_init'), id, 'another migration, another id')
})

t.test('reliability settings: production defaults, durations from the environment, bad values refused', async (t) => {
  t.same(readReliabilitySettings({}), DEFAULT_RELIABILITY)
  t.same(readReliabilitySettings({ RECONCILE_INTERVAL: '500ms', WORKER_LOCK_DURATION: '2s', WORKER_STALLED_INTERVAL: '250ms', WORKER_MAX_STALLED: '7', SHUTDOWN_GRACE: '1m', ENQUEUE_TIMEOUT: '1s' }), {
    reconcileIntervalMs: 500, lockDurationMs: 2000, stalledIntervalMs: 250, maxStalledCount: 7, shutdownGraceMs: 60_000, enqueueTimeoutMs: 1000
  })
  t.throws(() => readReliabilitySettings({ RECONCILE_INTERVAL: 'often' }), /RECONCILE_INTERVAL must be a duration/)
  t.throws(() => readReliabilitySettings({ WORKER_LOCK_DURATION: '10ms' }), /at least 1000 ms/)
  t.throws(() => readReliabilitySettings({ WORKER_MAX_STALLED: '0' }), /WORKER_MAX_STALLED must be a positive integer/)
})

t.test('connection errors are told apart from query errors', async (t) => {
  t.ok(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })))
  t.ok(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })))
  t.ok(isConnectionError(new Error('Connection terminated unexpectedly')))
  t.ok(isConnectionError(new Error('wrapped', { cause: new Error('timeout exceeded when trying to connect') })))
  t.notOk(isConnectionError(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' })))
  t.notOk(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' })))
  t.notOk(isConnectionError(new Error('plan is stale')))
})
