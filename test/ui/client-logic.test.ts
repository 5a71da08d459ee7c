import path from 'node:path'
import { execa } from 'execa'
import t from 'tap'
import { PROJECT_ROOT } from '../helpers/harness.js'

/**
 * The review page's pure modules, run in Node: the SSE parser, who may approve, and how a
 * promotion gate is read. (The page itself is tested in a browser in review-page.test.ts.)
 */

interface SseMessage { event: string, data: string, id: string | null }
interface SseParser { push: (chunk: string) => void, end: () => void, lastEventId: () => string | null, retryMs: () => number | null }

// Plain JS modules served to the browser as they are: imported by URL, typed here by hand.
const uiModule = async <T>(name: string): Promise<T> => await import(new URL(`../../ui/${name}`, import.meta.url).href) as T
const { createSseParser } = await uiModule<{ createSseParser: (on: (m: SseMessage) => void) => SseParser }>('sse.js')
const { decisionBlockers } = await uiModule<{ decisionBlockers: (me: unknown, deployment: unknown, environment: unknown, now?: number) => { approve: string | null, reject: string | null } }>('permissions.js')
const { promotionGate } = await uiModule<{ promotionGate: (deployment: unknown, environment: unknown) => { state: string, summary: string } }>('gate.js')
const { describeEvent } = await uiModule<{ describeEvent: (message: { event: string, data: string }) => string }>('events.js')
const { mayCancel } = await uiModule<{ mayCancel: (me: unknown, deployment: unknown) => boolean }>('permissions.js')

function parseAll (chunks: string[]): { messages: SseMessage[], parser: SseParser } {
  const messages: SseMessage[] = []
  const parser = createSseParser((m) => messages.push(m))
  for (const chunk of chunks) parser.push(chunk)
  parser.end()
  return { messages, parser }
}

t.test('SSE: events, multi-line data, comments, ids, retry, and every line ending', async (t) => {
  const stream = ': hello\n\nid: 7\nevent: step\ndata: {"a":1}\n\ndata: line one\ndata:line two\r\n\r\nretry: 2500\nid: 8\rdata: cr only\r\r'
  const whole = parseAll([stream])
  t.same(whole.messages, [
    { event: 'step', data: '{"a":1}', id: '7' },
    { event: 'message', data: 'line one\nline two', id: '7' },
    { event: 'message', data: 'cr only', id: '8' }
  ])
  t.equal(whole.parser.lastEventId(), '8')
  t.equal(whole.parser.retryMs(), 2500)

  // The same bytes split at every position, including between a CR and its LF, parse the same.
  for (let i = 1; i < stream.length; i++) {
    t.same(parseAll([stream.slice(0, i), stream.slice(i)]).messages, whole.messages, `split at ${i}`)
  }
})

t.test('SSE: an event without its blank line at the end of the stream is dropped; data-less events dispatch nothing', async (t) => {
  t.same(parseAll(['data: complete\n\ndata: cut off']).messages.map((m) => m.data), ['complete'])
  t.same(parseAll(['event: ping\n\n']).messages, [])
})

const pendingDeployment = { status: 'pending_approval', requested_by: 'carol', environment: 'production', approval: { required: 2, approvals: [] as Array<{ by: string }>, expires_at: '2999-01-01T00:00:00.000Z' } }
const production = { name: 'production', approval: { roles: ['approver'], allow_self_approval: false, required_approvals: 2 } }

t.test('who may approve: open to another approver and to an admin', async (t) => {
  t.same(decisionBlockers({ name: 'alice', roles: ['approver'] }, pendingDeployment, production), { approve: null, reject: null })
  t.same(decisionBlockers({ name: 'root', roles: ['admin'] }, pendingDeployment, production), { approve: null, reject: null })
})

t.test('who may not, and the reason given', async (t) => {
  t.match(decisionBlockers(null, pendingDeployment, production).approve, /Sign in/)
  t.equal(decisionBlockers({ name: 'ci-bot', roles: ['deployer'] }, pendingDeployment, production).approve, 'ci-bot (deployer) may not approve or reject in production: that needs the role approver or admin.')
  const self = decisionBlockers({ name: 'carol', roles: ['deployer', 'approver'] }, pendingDeployment, production)
  t.equal(self.approve, 'You (carol) requested this deployment, so another approver must review it.')
  t.equal(self.reject, self.approve, 'both buttons closed to the requester')
  t.same(decisionBlockers({ name: 'carol', roles: ['approver'] }, pendingDeployment, { ...production, approval: { ...production.approval, allow_self_approval: true } }), { approve: null, reject: null }, 'unless the environment allows self-approval')
  const already = decisionBlockers({ name: 'alice', roles: ['approver'] }, { ...pendingDeployment, approval: { ...pendingDeployment.approval, approvals: [{ by: 'alice' }] } }, production)
  t.equal(already.approve, 'You (alice) already approved this plan; 1 more approval from someone else is needed.')
  t.equal(already.reject, null, 'who approved may still reject')
  t.match(decisionBlockers({ name: 'alice', roles: ['approver'] }, { ...pendingDeployment, status: 'succeeded' }, production).approve, /succeeded/)
  t.match(decisionBlockers({ name: 'alice', roles: ['approver'] }, pendingDeployment, production, Date.parse('3000-01-01')).approve, /approval window closed/)
  t.match(decisionBlockers({ name: 'vic', roles: ['viewer'] }, pendingDeployment, { name: 'production', approval: { roles: ['deployer'], allow_self_approval: false, required_approvals: 1 } }).approve, /needs the role deployer or admin/, 'the environment\'s configured roles decide')
})

t.test('promotion gate: read from the plan; before the plan, what the gate requires', async (t) => {
  const base = { environment: 'production', status: 'running', dry_run: false, plan: null }
  t.equal(promotionGate(base, { requires_success_in: [] }).state, 'none')
  const before = promotionGate(base, { requires_success_in: ['staging'] })
  t.equal(before.state, 'pending')
  t.equal(before.summary, 'Requires the same migrations to have been applied in staging first. Checked when the plan is made.')
  t.equal(promotionGate({ ...base, status: 'failed' }, { requires_success_in: ['staging'] }).state, 'unknown', 'ended before a plan: never checked')
  const gate = { requires_success_in: ['staging'], passed: true, missing: {}, message: 'all 2 pending migrations were applied in staging first' }
  t.same(promotionGate({ ...base, plan: { promotion_gate: gate } }, { requires_success_in: ['staging'] }), {
    state: 'passed', requires: ['staging'], summary: 'Passed (requires staging): all 2 pending migrations were applied in staging first', details: undefined
  })
  const refused = { ...gate, passed: false, missing: { staging: ['20250110090000_init'] }, message: 'not yet applied in staging: 20250110090000_init' }
  t.equal(promotionGate({ ...base, plan: { promotion_gate: refused } }, undefined).summary,
    'Failed (requires staging): not yet applied in staging: 20250110090000_init')
  t.equal(promotionGate({ ...base, dry_run: true, plan: { promotion_gate: refused } }, undefined).summary,
    'Would refuse this plan (requires staging): not yet applied in staging: 20250110090000_init')
  const staging = { requires_success_in: ['staging'] }
  t.equal(promotionGate({ ...base, plan: { migrations: [] } }, staging).state, 'unknown', 'a plan without the gate\'s result is not guessed at')
  t.equal(promotionGate({ ...base, operation: 'restore-backup', plan: { migrations: [] } }, staging).state, 'none', 'a restore has no gate')
})

t.test('every event kind reads as a sentence, never as raw JSON', async (t) => {
  const event = (type: string, data: unknown, extra: Record<string, unknown> = {}): { event: string, data: string } =>
    ({ event: 'message', data: JSON.stringify({ id: 303, type, actor: 'system', message: null, data, created_at: '2025-01-24T10:30:00.000Z', ...extra }) })
  const cases: Array<[{ event: string, data: string }, string]> = [
    [event('created', { environment: 'production', operation: 'deploy-migrations', dry_run: false, inline_migrations: 1 }, { actor: 'ci-bot' }),
      'Requested by ci-bot: deploy-migrations to production, 1 migration uploaded'],
    [event('status_changed', { from: 'pending_approval', to: 'queued' }), 'Status: pending approval → queued'],
    [event('status_changed', { from: 'running', to: 'failed', error: 'Migration x failed' }), 'Status: running → failed (Migration x failed)'],
    [event('step_started', { step: 'health_check_after' }), 'Health check after started'],
    [event('step_finished', { step: 'approval', status: 'passed', detail: 'approved by alice' }), 'Approval passed: approved by alice'],
    [event('approved', { plan_checksum: 'sha256:x', comment: 'LGTM' }, { actor: 'alice' }), 'Approved by alice: “LGTM”'],
    [event('approved', { plan_checksum: 'sha256:x', comment: null }, { actor: 'alice' }), 'Approved by alice'],
    [event('rejected', { reason: 'not today' }, { actor: 'bob' }), 'Rejected by bob: not today'],
    [event('cancelled', { from: 'pending_approval' }, { actor: 'ci-bot' }), 'Cancelled by ci-bot while pending approval'],
    [event('backups_pruned', { backup_ids: ['a', 'b'], keep: 10 }), '2 old backups pruned (keeping 10)'],
    [event('webhook_delivery', { event: 'succeeded', host: 'hooks.example.com', outcome: 'delivered', status_code: 200, attempt: 1, attempts: 8 }),
      'Webhook for “succeeded” to hooks.example.com: delivered (HTTP 200), attempt 1 of 8'],
    [event('log', null, { message: '✓ Configuration loaded' }), '✓ Configuration loaded'],
    [event('banner', null, { message: '✅ COMPLETED: Migration Deployer\nEnvironment: dev' }), '✅ COMPLETED: Migration Deployer'],
    [event('something_new', { id: 303 }, { actor: 'alice' }), 'Something new (alice)'],
    [{ event: 'end', data: '{"status":"succeeded"}' }, 'Finished: succeeded']
  ]
  for (const [message, expected] of cases) {
    const text = describeEvent(message)
    t.equal(text, expected)
    t.notMatch(text, /[{}]/, `${expected}: no JSON`)
  }
})

t.test('who may cancel: the requester or an admin, while queued or waiting for approval', async (t) => {
  const pending = { status: 'pending_approval', requested_by: 'ci-bot' }
  t.equal(mayCancel({ name: 'ci-bot', roles: ['deployer'] }, pending), true)
  t.equal(mayCancel({ name: 'root', roles: ['admin'] }, { ...pending, status: 'queued' }), true)
  t.equal(mayCancel({ name: 'alice', roles: ['approver'] }, pending), false, 'an approver rejects instead')
  t.equal(mayCancel({ name: 'ci-bot', roles: ['deployer'] }, { ...pending, status: 'running' }), false, 'not once it runs')
  t.equal(mayCancel(null, pending), false)
})

t.test('the page\'s modules type-check (JSDoc types against the DOM library: ui/tsconfig.json)', async (t) => {
  const result = await execa(process.execPath, [path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'ui/tsconfig.json')], { reject: false })
  t.equal(result.exitCode, 0, result.stdout)
})
