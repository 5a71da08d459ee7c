import t from 'tap'
import { serializerCompiler } from 'fastify-type-provider-zod'
import { toDeploymentResource } from '../../src/api/deployment-resource.js'
import { deploymentSchema } from '../../src/schemas/deployment.js'
import { listApprovals } from '../../src/store/approvals.js'
import { getDeployment } from '../../src/store/deployments.js'
import { queryDatabase } from '../helpers/databases.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { createDeploymentReads } from '../../src/api/deployment-reads.js'

// GET /deployments/:id keeps serialized answers and shares concurrent reads; these tests change
// rows behind the API's back (as a worker or another API process would) and expect every poll to
// show the database as it is when the poll arrives.

const controlDb = (h: Harness): string => new URL(h.runtime.settings.databaseUrl).pathname.slice(1)

/** What the API answered before the fast path: two queries, then the route's own serializer. */
async function freshBody (h: Harness, id: string): Promise<string> {
  const row = await getDeployment(h.runtime.pool, id)
  if (row === undefined) throw new Error(`no deployment ${id}`)
  const serialize = serializerCompiler({ schema: deploymentSchema, method: 'GET', url: '/deployments/:id' })
  return serialize(toDeploymentResource(row, await listApprovals(h.runtime.pool, id)))
}

async function queuedDeployment (h: Harness): Promise<string> {
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev', dry_run: true, source: { commit: 'abc' } } })
  if (created.statusCode !== 202) throw new Error(created.body)
  return created.json().id as string
}

t.test('every poll shows the rows as they are, whoever changed them', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const id = await queuedDeployment(h)
  const first = await h.request('GET', `/deployments/${id}`, { as: 'viewer' })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(first.body, await freshBody(h, id), 'the same bytes as two queries and the serializer give')
  t.equal(first.json().status, 'queued')

  // A change that touches neither status nor updated_at.
  await queryDatabase(controlDb(h), `UPDATE deployments SET report = '{"note":"changed elsewhere"}', approvals_required = 2 WHERE id = $1`, [id])
  const changed = await h.request('GET', `/deployments/${id}`, { as: 'viewer' })
  t.same(changed.json().report, { note: 'changed elsewhere' })
  t.same(changed.json().approval, { required: 2, approvals: [], expires_at: null })
  t.equal(changed.body, await freshBody(h, id))

  // An approval alone, the deployment row untouched.
  await queryDatabase(controlDb(h), `INSERT INTO approvals (deployment_id, approver, comment, plan_checksum) VALUES ($1, 'alice', 'ok', 'sha256:x')`, [id])
  const approved = await h.request('GET', `/deployments/${id}`, { as: 'viewer' })
  t.match(approved.json().approval.approvals, [{ by: 'alice', comment: 'ok', plan_checksum: 'sha256:x' }])
  t.equal(approved.body, await freshBody(h, id), 'approval times parse as they do from their own query')

  await queryDatabase(controlDb(h), `INSERT INTO approvals (deployment_id, approver, comment, plan_checksum) VALUES ($1, 'bob', NULL, 'sha256:x')`, [id])
  const twice = await h.request('GET', `/deployments/${id}`, { as: 'viewer' })
  t.same(twice.json().approval.approvals.map((a: { by: string }) => a.by).sort(), ['alice', 'bob'])
  t.equal(twice.body, await freshBody(h, id))

  const unchanged = await h.request('GET', `/deployments/${id}`, { as: 'viewer' })
  t.equal(unchanged.body, twice.body, 'nothing changed, the same answer')
  t.equal(unchanged.headers.etag, twice.headers.etag, 'and the same ETag')
  t.not(twice.headers.etag, approved.headers.etag, 'each change gives a new ETag')
  t.not(approved.headers.etag, changed.headers.etag)
  t.not(changed.headers.etag, first.headers.etag)

  const conditional = await h.request('GET', `/deployments/${id}`, { as: 'viewer', headers: { 'if-none-match': unchanged.headers.etag as string } })
  t.equal(conditional.statusCode, 304, 'the ETag of the current version answers 304')
  t.equal(conditional.body, '')
  await queryDatabase(controlDb(h), `UPDATE deployments SET report = '{"note":"changed again"}' WHERE id = $1`, [id])
  const stale = await h.request('GET', `/deployments/${id}`, { as: 'viewer', headers: { 'if-none-match': unchanged.headers.etag as string } })
  t.equal(stale.statusCode, 200, 'an ETag of an older version gets the new body')
  t.same(stale.json().report, { note: 'changed again' })
})

t.test('concurrent polls all get the current answer; unknown ids are 404', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const ids = [await queuedDeployment(h), await queuedDeployment(h)]
  const poll = async (): Promise<string[]> => await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const response = await h.request('GET', `/deployments/${ids[i % 2] as string}`, { as: 'viewer' })
    t.equal(response.statusCode, 200)
    return response.body
  }))
  const before = await poll()
  t.ok(before.every((body, i) => body === before[i % 2]), 'one answer per deployment')
  t.not(before[0], before[1])

  await queryDatabase(controlDb(h), `UPDATE deployments SET status = 'cancelled', finished_at = now() WHERE id = $1`, [ids[0]])
  const after = await poll()
  t.ok(after.filter((_, i) => i % 2 === 0).every((body) => JSON.parse(body).status === 'cancelled'), 'the change shows in every poll after it')
  t.ok(after.filter((_, i) => i % 2 === 1).every((body) => body === before[1]), 'the other deployment is as it was')

  const missing = await h.request('GET', '/deployments/dep_01JNOTTHERE0000000000000000', { as: 'viewer' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error.code, 'NOT_FOUND')
})

t.test('an unchanged deployment costs a version check; the cache keeps what fits, least recently used out first', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const [a, b] = [await queuedDeployment(h), await queuedDeployment(h)] as [string, string]
  // Counts the two queries by the names the store gives them.
  const counted = { full: 0, version: 0 }
  const pool = {
    query: async (config: { name?: string }, values?: unknown[]) => {
      if (config.name === 'read-deployment') counted.full++
      if (config.name === 'read-deployment-version') counted.version++
      return await h.runtime.pool.query(config as never, values)
    }
  } as unknown as typeof h.runtime.pool
  const sizeOfOne = (await createDeploymentReads(h.runtime.pool).get(a)).bytes.length

  const roomy = createDeploymentReads(pool)
  for (const id of [a, b, a, b, a]) t.equal((await roomy.get(id)).bytes.toString('utf8'), await freshBody(h, id))
  t.same(counted, { full: 2, version: 3 }, 'with room for both, each is read once and then only checked')

  counted.full = counted.version = 0
  // Room for eight entries of this size (an entry may take at most an eighth of the cache).
  const ids = [a, b]
  while (ids.length < 9) ids.push(await queuedDeployment(h))
  const tight = createDeploymentReads(pool, { maxCachedBytes: sizeOfOne * 8 + 8 })
  for (const id of ids.slice(0, 8)) await tight.get(id)
  await tight.get(ids[0] as string)
  t.same(counted, { full: 8, version: 1 }, 'eight fit: the first is only checked again')
  await tight.get(ids[8] as string)
  await tight.get(ids[0] as string)
  t.same(counted, { full: 9, version: 2 }, 'a ninth pushes out the least recently used, not the one just polled')
  await tight.get(ids[1] as string)
  t.same(counted, { full: 10, version: 2 }, 'the second was the one pushed out: read again')
  await queryDatabase(controlDb(h), `UPDATE deployments SET report = '{"note":"changed"}' WHERE id = $1`, [a])
  t.equal((await tight.get(a)).bytes.toString('utf8'), await freshBody(h, a), 'a change is seen through the cache')
  t.same(counted, { full: 11, version: 3 })
})
