import t from 'tap'
import { deleteExpiredIdempotencyKeys } from '../../src/store/idempotency-keys.js'
import { startHarness } from '../helpers/harness.js'

const environments = { staging: { working_directory: 'app' } }
const BODY = { environment: 'staging', source: { commit: 'abc123', ref: 'main' } }

t.test('Idempotency-Key: same key and body replay the deployment (200), another body is a 409, keys are per token and kept 24 h', async (t) => {
  const h = await startHarness({ environments, worker: false })
  t.teardown(h.close)
  const count = async (): Promise<number> => (await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments')).rows[0]?.n ?? -1

  const first = await h.request('POST', '/deployments', { body: BODY, headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(first.statusCode, 202, first.body)
  const id = first.json().id as string

  const replay = await h.request('POST', '/deployments', { body: BODY, headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(replay.statusCode, 200, 'a replay is 200')
  t.equal(replay.json().id, id, 'with the same deployment')
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.headers.location, `/deployments/${id}`)

  // The same request however it is written: key order, explicit defaults, the envelope form.
  const reordered = await h.request('POST', '/deployments', { payload: JSON.stringify({ source: { ref: 'main', commit: 'abc123' }, dry_run: false, environment: 'staging' }), headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(reordered.statusCode, 200)
  t.equal(reordered.json().id, id)
  const envelope = await h.request('POST', '/deployments', { body: { operation: 'deploy-migrations', parameters: BODY }, headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(envelope.statusCode, 200, envelope.body)
  t.equal(envelope.json().id, id)
  t.equal(await count(), 1, 'one deployment recorded')

  const conflict = await h.request('POST', '/deployments', { body: { ...BODY, dry_run: true }, headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().error.code, 'IDEMPOTENCY_KEY_REUSED')
  t.match(conflict.json().error.message, /different request/)
  t.same(conflict.json().error.details, { deployment_id: id })

  const otherToken = await h.request('POST', '/deployments', { as: 'carol', body: BODY, headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(otherToken.statusCode, 202, 'keys are scoped per token name')
  t.not(otherToken.json().id, id)

  const withoutKey = await h.request('POST', '/deployments', { body: BODY })
  t.equal(withoutKey.statusCode, 202, 'no key, no replay')
  t.equal(await count(), 3)

  const tooLong = await h.request('POST', '/deployments', { body: BODY, headers: { 'idempotency-key': 'x'.repeat(256) } })
  t.equal(tooLong.statusCode, 400)

  // After 24 hours the key is forgotten: a new deployment, and the cleanup removes old keys.
  await h.runtime.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'ci-run-42' AND principal = 'ci-bot'`)
  const later = await h.request('POST', '/deployments', { body: BODY, headers: { 'idempotency-key': 'ci-run-42' } })
  t.equal(later.statusCode, 202, 'an expired key starts a new deployment')
  t.not(later.json().id, id)
  await h.runtime.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE principal = 'carol'`)
  t.equal(await deleteExpiredIdempotencyKeys(h.runtime.pool), 1, 'the cleanup removes keys older than 24 h')
  const { rows } = await h.runtime.pool.query<{ principal: string }>('SELECT principal FROM idempotency_keys ORDER BY principal')
  t.same(rows.map((r) => r.principal), ['ci-bot'])
})

t.test('concurrent requests with one key create one deployment', async (t) => {
  const h = await startHarness({ environments, worker: false })
  t.teardown(h.close)
  const responses = await Promise.all(Array.from({ length: 12 }, async () => await h.request('POST', '/deployments', { body: BODY, headers: { 'idempotency-key': 'retry-storm' } })))
  t.same(responses.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 202])
  t.equal(new Set(responses.map((r) => r.json().id)).size, 1, 'all answer with the same deployment')
  const { rows } = await h.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments')
  t.equal(rows[0]?.n, 1)
})
