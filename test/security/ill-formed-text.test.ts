import t from 'tap'
import { startHarness } from '../helpers/harness.js'

/**
 * A lone UTF-16 surrogate is not Unicode text: PostgreSQL's jsonb refuses it (22P02), so a
 * request carrying one in a free-text field used to end in a 500. Every string a client sends is
 * refused at the schema, with a 400 naming the field (issue 17, finding 6).
 */

const LONE = '\ud800'
// JSON.stringify writes a lone surrogate as the escape \ud800: what a client's JSON holds.
const json = (value: unknown): string => JSON.stringify(value)

interface ErrorBody { error: { code: string, message: string, details?: Array<{ path: string, message: string }> } }

t.test('a lone surrogate in any free-text field: 400 naming the field, nothing recorded', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)

  const expectRefused = async (what: string, response: { statusCode: number, json: <T>() => T, body: string }, path: string): Promise<void> => {
    t.equal(response.statusCode, 400, `${what}: 400, not a 500 (${response.body.slice(0, 300)})`)
    const body = response.json<ErrorBody>()
    t.equal(body.error.code, 'VALIDATION_FAILED', `${what}: VALIDATION_FAILED`)
    t.match(body.error.message, path, `${what}: the message names ${path}`)
    t.match(body.error.message, /lone UTF-16 surrogate/, `${what}: the message says what is wrong`)
    t.match(body.error.message, /well-formed/, `${what}: and how to fix it`)
  }
  const create = async (body: Record<string, unknown>): Promise<{ statusCode: number, json: <T>() => T, body: string }> =>
    await h.request('POST', '/deployments', { payload: json({ environment: 'dev', ...body }) })

  await expectRefused('source.commit', await create({ working_directory: 'app', source: { commit: `abc${LONE}` } }), 'body.source.commit')
  await expectRefused('source.ref', await create({ working_directory: 'app', source: { ref: `main${LONE}` } }), 'body.source.ref')
  await expectRefused('source.url', await create({ working_directory: 'app', source: { url: `https://ci.example/${LONE}` } }), 'body.source.url')
  await expectRefused('migrations[].sql', await create({ migrations: [{ name: '20250101000000_x', sql: `SELECT '${LONE}';` }] }), 'body.migrations.0.sql')
  await expectRefused('working_directory', await create({ working_directory: `app${LONE}` }), 'body.working_directory')
  const post = async (body: unknown): Promise<{ statusCode: number, json: <T>() => T, body: string }> =>
    await h.request('POST', '/deployments', { payload: json(body) })
  await expectRefused('environment', await post({ environment: `dev${LONE}`, working_directory: 'app' }), 'body.environment')
  // The seed's envelope form is unwrapped before validation: the same refusal.
  const envelope = { operation: 'deploy-migrations', parameters: { environment: 'dev', working_directory: 'app', source: { ref: LONE } } }
  await expectRefused('envelope', await post(envelope), 'body.source.ref')
  // A low surrogate alone, and a high one at the very end, are as ill-formed.
  await expectRefused('trailing high surrogate', await create({ working_directory: 'app', source: { commit: `abc\udbff` } }), 'body.source.commit')
  await expectRefused('low surrogate', await create({ working_directory: 'app', source: { commit: `\udc00abc` } }), 'body.source.commit')

  const list = await h.request('GET', '/deployments', { as: 'viewer' })
  t.same(list.json<{ deployments: unknown[] }>().deployments, [], 'nothing was recorded')

  // A well-formed pair (an emoji) is fine, of course.
  const ok = await create({ working_directory: 'app', dry_run: true, source: { commit: 'abc', ref: 'feature/🚀' } })
  t.equal(ok.statusCode, 202, `a well-formed surrogate pair is accepted (${ok.body.slice(0, 200)})`)

  // Approve and reject carry free text too.
  const pending = await h.request('POST', '/deployments', { body: { environment: 'production', working_directory: 'app' } })
  const id = pending.json<{ id: string }>().id
  await h.waitFor(id, ['pending_approval'])
  const approve = await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', payload: json({ comment: `LGTM${LONE}` }) })
  await expectRefused('approve comment', approve, 'body.comment')
  const reject = await h.request('POST', `/deployments/${id}/reject`, { as: 'alice', payload: json({ reason: `no${LONE}` }) })
  await expectRefused('reject reason', reject, 'body.reason')
  const still = await h.request('GET', `/deployments/${id}`, { as: 'viewer' })
  t.equal(still.json<{ status: string }>().status, 'pending_approval', 'neither went through')
  const rejected = await h.request('POST', `/deployments/${id}/reject`, { as: 'alice', body: { reason: 'not today 🙅' } })
  t.equal(rejected.statusCode, 200, `a well-formed reason is accepted (${rejected.body.slice(0, 200)})`)
})
