import t from 'tap'
import { findStatementKinds, readWaivers } from '../../src/analysis/index.js'
import type { Principal } from '../../src/auth/principal.js'
import { approveDeployment } from '../../src/pipeline/approval-actions.js'
import { runDeploymentPhase } from '../../src/pipeline/run-phase.js'
import { listEvents, listLogLines } from '../../src/store/events.js'
import { startHarness, type Harness } from '../helpers/harness.js'
import { recordDeployment, rowOf } from '../helpers/pipeline-run.js'

const alice: Principal = { name: 'alice', roles: ['approver'] }
const dana: Principal = { name: 'dana', roles: ['approver', 'dba'] }
const dave: Principal = { name: 'dave', roles: ['dba'] }

const policy = {
  rules: [
    { when: { statements: ['DROP COLUMN', 'DROP TABLE', 'TRUNCATE'] }, risk: 'high', reason: 'destroys data that a restore alone brings back' },
    { name: 'blocking-index', when: { lint: ['require-concurrent-index-creation'] }, risk: 'medium', reason: 'blocks writes while the index builds' }
  ],
  approvals_by_risk: { high: { required_approvals: 2, roles: ['dba'] } }
}

const dropColumn = (header = ''): { name: string, sql: string } => ({
  name: '20250101000000_drop_legacy',
  sql: `CREATE TABLE accounts (id int PRIMARY KEY, legacy text);\n${header}ALTER TABLE accounts DROP COLUMN legacy;\n`
})

async function plan (h: Harness, migration: { name: string, sql: string }): Promise<string> {
  const id = await recordDeployment(h, { environment: 'production', migrations: [migration] })
  await runDeploymentPhase(h.runtime.pipeline, id, 'plan')
  return id
}

t.test('statement kinds come from the parse tree, waivers from real comments', async (t) => {
  const kinds = await findStatementKinds("ALTER TABLE \"User\" DROP COLUMN email, ALTER COLUMN name TYPE text;\nINSERT INTO notes VALUES ('DROP TABLE x');\nTRUNCATE a, b;\n")
  t.same(kinds.map((k) => `${k.kind} ${k.target} @${k.line}`), [
    'ALTER TABLE "User" @1', 'DROP COLUMN "User"."email" @1', 'ALTER COLUMN TYPE "User"."name" @1', 'TRUNCATE "a" @3', 'TRUNCATE "b" @3'
  ])
  const found = await readWaivers("-- migration-deployer: allow drop-column because v42 no longer reads it\nSELECT '-- migration-deployer: allow truncate because no';\n-- migration-deployer: allow drop-table\n")
  t.same(found.waivers, [{ rule: 'drop-column', reason: 'v42 no longer reads it', line: 1 }], 'the text inside a string literal is not a waiver')
  t.same(found.malformed.map((m) => m.line), [3], 'a waiver without a reason is malformed')
})

t.test('risk policy', async (t) => {
  const h = await startHarness({
    worker: false,
    environments: {
      production: {
        working_directory: 'app',
        protected: true,
        approval: { required_approvals: 1, roles: ['approver'], expires_after: '1h' },
        health_check: { checks: ['connectivity'], timeout: '5s' },
        backup_before_migrate: false,
        policy
      }
    }
  })
  t.teardown(h.close)
  const { pool, config, logger } = h.runtime

  await t.test('a DROP COLUMN plan is high risk and needs two approvers with role dba', async (t) => {
    const id = await plan(h, dropColumn())
    const row = await rowOf(h, id)
    t.equal(row.status, 'pending_approval', JSON.stringify(row.report))
    t.equal(row.approvals_required, 2, 'approvals_by_risk.high raises 1 to 2')
    t.match(row.plan?.risk, {
      level: 'high',
      reasons: [{ rule: 'drop-column', risk: 'high', matched: 'DROP COLUMN "accounts"."legacy"', line: 2, waived_by: null }],
      approval: { required_approvals: 2, roles: ['dba'] }
    })
    t.ok((await listLogLines(pool, id)).some((line) => line.startsWith('⚠ Risk: high (DROP COLUMN "accounts"."legacy"')), 'the log says the risk and why')
    await t.rejects(approveDeployment(pool, config, logger, alice, id, null), { code: 'FORBIDDEN', message: /roles dba.*risk is high/ }, 'an approver without dba may not')
    t.match(await approveDeployment(pool, config, logger, dana, id, 'checked the backups'), { released: false })
    await t.rejects(approveDeployment(pool, config, logger, dana, id, null), { code: 'ALREADY_APPROVED' }, 'the second approval must be someone else')
    t.match(await approveDeployment(pool, config, logger, dave, id, null), { released: true, deployment: { status: 'queued', phase: 'apply' } })
  })

  await t.test('a waiver with a reason lowers the risk, is shown in the plan and audited with the approver', async (t) => {
    const id = await plan(h, dropColumn('-- migration-deployer: allow drop-column because the app stopped reading legacy in v42\n'))
    const row = await rowOf(h, id)
    t.equal(row.status, 'pending_approval', JSON.stringify(row.report))
    t.equal(row.approvals_required, 1, 'the environment\'s approval again')
    t.match(row.plan?.risk, {
      level: 'low',
      approval: null,
      reasons: [{ rule: 'drop-column', waived_by: 'drop-column because the app stopped reading legacy in v42' }],
      waivers: [{ migration: '20250101000000_drop_legacy', rule: 'drop-column', reason: 'the app stopped reading legacy in v42', line: 2, lifted: 1 }]
    })
    t.match(await approveDeployment(pool, config, logger, alice, id, 'ok'), { released: true })
    const approved = (await listEvents(pool, id)).find((e) => e.type === 'approved')
    t.match(approved, { actor: 'alice', data: { waivers: [{ rule: 'drop-column', reason: 'the app stopped reading legacy in v42' }] } }, 'the audit records who approved the waiver')
  })

  await t.test('a waiver may name a squawk rule id or a policy rule name', async (t) => {
    const id = await plan(h, dropColumn('-- migration-deployer: allow ban-drop-column because squawk id is fine too\n'))
    t.equal((await rowOf(h, id)).status, 'pending_approval', 'a squawk id is a known rule')
    const migrations = [
      { name: '20250101000001_things', sql: 'CREATE TABLE things (id int);\n' },
      { name: '20250101000002_index', sql: '-- migration-deployer: allow blocking-index because the table is new and empty\nCREATE INDEX things_id ON things (id);\n' }
    ]
    const index = await recordDeployment(h, { environment: 'production', migrations })
    await runDeploymentPhase(h.runtime.pipeline, index, 'plan')
    const risk = (await rowOf(h, index)).plan?.risk
    t.match(risk, { level: 'low', reasons: [{ rule: 'blocking-index', matched: 'squawk require-concurrent-index-creation', line: 2 }], waivers: [{ rule: 'blocking-index', lifted: 1 }] })
  })

  await t.test('a waiver naming an unknown rule fails the plan clearly', async (t) => {
    const id = await plan(h, dropColumn('-- migration-deployer: allow drop-colum because typo\n'))
    const row = await rowOf(h, id)
    t.equal(row.status, 'failed')
    t.match(row.report, { status: 'error', error: /Invalid risk waiver: 20250101000000_drop_legacy line 2: waiver names an unknown rule "drop-colum"/ })
  })
})
