import t from 'tap'
import { startHarness } from '../helpers/harness.js'

// The access log: one line per request, flat fields, credentials in URLs masked.

interface LogLine { msg?: string, reqId?: string, method?: string, url?: string, statusCode?: number, responseTime?: number, remoteAddress?: string }

t.test('one "request completed" line per request, with the request and the response', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  const before = h.logLines.length
  t.equal((await h.request('GET', '/deployments', { as: 'viewer' })).statusCode, 200)
  const pasted = await h.request('GET', '/deployments/postgres:%2F%2Fdeployer:hunter2secret@db.internal%2Fapp', { as: 'viewer' })
  t.equal(pasted.statusCode, 404)
  t.notMatch(pasted.body, /hunter2secret/, 'nor the response')
  const lines = h.logLines.slice(before).map((line) => JSON.parse(line) as LogLine)
  t.notOk(lines.some((line) => line.msg === 'incoming request'), 'no separate "incoming request" line')
  const completed = lines.filter((line) => line.msg === 'request completed')
  t.equal(completed.length, 2, 'one line per request')
  t.match(completed[0], { method: 'GET', url: '/deployments', statusCode: 200, reqId: String, remoteAddress: String, responseTime: Number })
  t.match(completed[1], { statusCode: 404, url: '/deployments/postgres://deployer:***@db.internal/app' }, 'the URL decoded, its password masked')
  t.notMatch(h.logLines.slice(before).join('\n'), /hunter2secret/, 'a password in a requested URL never reaches the log')
})
