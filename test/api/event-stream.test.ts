import t from 'tap'
import { parseEventStream, type ServerSentEvent } from '../../src/cli/client/sse-parser.js'
import { startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

interface EventJson { id: number, type: string, message: string | null }

/** Reads a whole SSE response until the server closes it. */
async function readStream (
  url: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; contentType: string | null; events: ServerSentEvent[] }> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tokenOf('viewer')}`, ...headers } })
  const events: ServerSentEvent[] = []
  if (response.body !== null) for await (const event of parseEventStream(response.body)) events.push(event)
  return { status: response.status, contentType: response.headers.get('content-type'), events }
}

t.test('events stream as SSE with ids, end after the closing banner, and resume with Last-Event-ID', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const base = await listenOnLoopback(h)
  const created = await h.request('POST', '/deployments', { body: { environment: 'dev' } })
  const id = created.json().id as string

  const full = await readStream(`${base}/deployments/${id}/events`)
  t.equal(full.status, 200)
  t.match(full.contentType, /^text\/event-stream/)
  const data = full.events.filter((e) => e.event === 'message')
  const last = full.events[full.events.length - 1]
  t.equal(last?.event, 'end', 'the stream ends with an end event')
  t.same(JSON.parse(last?.data ?? '{}'), { status: 'succeeded' })
  const ids = data.map((e) => Number(e.id))
  t.same(ids, [...ids].sort((a, b) => a - b), 'ids increase')
  t.ok(data.every((e) => Number(e.id) === (JSON.parse(e.data) as EventJson).id), 'id: is the event row id')
  const messages = data.map((e) => (JSON.parse(e.data) as EventJson).message).filter((m) => m !== null)
  t.match(messages[0], /STARTING: Migration Deployer/)
  t.match(messages[messages.length - 1], /COMPLETED: Migration Deployer/, 'the closing banner is the last line sent')

  // The JSON form (no Accept) has exactly the same events.
  const json = await h.request('GET', `/deployments/${id}/events`)
  t.equal(json.statusCode, 200)
  t.match(json.headers['content-type'], /application\/json/)
  const jsonIds = (json.json().events as EventJson[]).map((e) => e.id)
  t.same(jsonIds.slice(0, ids.length), ids)

  // Resume from the middle: only the events after Last-Event-ID come, then the end.
  const middle = ids[Math.floor(ids.length / 2)] as number
  const resumed = await readStream(`${base}/deployments/${id}/events`, { 'last-event-id': String(middle) })
  const resumedIds = resumed.events.filter((e) => e.event === 'message').map((e) => Number(e.id))
  t.same(resumedIds, ids.filter((n) => n > middle), 'resumes right after Last-Event-ID')
  t.equal(resumed.events[resumed.events.length - 1]?.event, 'end')

  // Resuming after the last event of a finished deployment ends at once.
  const none = await readStream(`${base}/deployments/${id}/events`, { 'last-event-id': String(ids[ids.length - 1]) })
  t.same(none.events.map((e) => e.event), ['end'])

  const bad = await fetch(`${base}/deployments/${id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tokenOf('viewer')}`, 'last-event-id': 'abc' } })
  t.equal(bad.status, 400, 'a Last-Event-ID that is not an id is a 400')
  await bad.body?.cancel()
  const missing = await fetch(`${base}/deployments/dep_missing/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tokenOf('viewer')}` } })
  t.equal(missing.status, 404)
  await missing.body?.cancel()
})

t.test('a stream follows a pending deployment live through approval to the end', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const base = await listenOnLoopback(h)
  const created = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  const id = created.json().id as string
  await h.waitFor(id, ['pending_approval'])

  const response = await fetch(`${base}/deployments/${id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tokenOf('viewer')}` } })
  const seen: Array<{ event: string, data: string }> = []
  let approved = false
  for await (const event of parseEventStream(response.body as ReadableStream<Uint8Array>)) {
    seen.push(event)
    const message = event.event === 'message' ? (JSON.parse(event.data) as EventJson).message : null
    // Approve only once the stream has caught up to the waiting line: what follows must arrive live.
    if (!approved && message !== null && message.startsWith('⏸ Waiting for approval')) {
      approved = true
      const result = await h.request('POST', `/deployments/${id}/approve`, { as: 'alice' })
      t.equal(result.statusCode, 200)
    }
  }
  t.ok(approved, 'saw the waiting line')
  const messages = seen.filter((e) => e.event === 'message').map((e) => (JSON.parse(e.data) as EventJson).message ?? '')
  t.ok(messages.some((m) => m.startsWith('✓ Approval confirmed (alice)')), 'approval arrived live')
  t.ok(messages.some((m) => m.startsWith('✓ Deploying migration:')), 'migrations arrived live')
  t.same(seen[seen.length - 1], { id: undefined, event: 'end', data: '{"status":"succeeded"}' })
})

t.test('GET /deployments/:id answers If-None-Match with 304 until it changes', async (t) => {
  const h = await startHarness()
  t.teardown(h.close)
  const created = await h.request('POST', '/deployments', { body: { environment: 'production' } })
  const id = created.json().id as string
  await h.waitFor(id, ['pending_approval'])
  const first = await h.request('GET', `/deployments/${id}`)
  const etag = first.headers.etag as string
  t.match(etag, /^"[0-9a-f]{32}"$/)
  const same = await h.request('GET', `/deployments/${id}`, { headers: { 'if-none-match': etag } })
  t.equal(same.statusCode, 304)
  t.equal(same.body, '', 'a 304 has no body')
  t.equal(same.headers.etag, etag)
  t.equal((await h.request('GET', `/deployments/${id}`, { headers: { 'if-none-match': `"other", W/${etag}` } })).statusCode, 304, 'lists and weak tags match')
  t.equal((await h.request('GET', `/deployments/${id}`, { headers: { 'if-none-match': '"other"' } })).statusCode, 200)

  await h.request('POST', `/deployments/${id}/approve`, { as: 'alice', body: { comment: 'ok' } })
  const changed = await h.request('GET', `/deployments/${id}`, { headers: { 'if-none-match': etag } })
  t.equal(changed.statusCode, 200, 'an approval changes the ETag')
  t.not(changed.headers.etag, etag)
})
