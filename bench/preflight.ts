import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { prismaHandler } from '../src/handlers/prisma/index.js'
import { DOCUMENSO } from '../test/helpers/corpus.js'
import { adminUrl } from '../test/helpers/databases.js'
import { applyWithPrisma } from '../test/helpers/tenant-databases.js'
import { applyWithPsql } from './apply.js'
import { postDeployment } from './lib/api-client.js'
import { corpusDir } from './lib/bench-env.js'
import { createDatabase, databaseUrl, dropDatabase } from './lib/databases.js'
import { info, type Figure } from './lib/report.js'
import { approveDeployment, startService, waitForStatus, type ServiceUnderTest } from './lib/service-under-test.js'
import { median, round } from './lib/stats.js'

/**
 * Preflight and rehearsal on documenso's history (issue 19, SPEC §12), through the service as
 * shipped (API and worker processes of the built CLI): a target with the first migration applied
 * and `rows` rows seeded into its largest tables (Document, Recipient, Field; half as many
 * Signatures, `rows / 10` Users), the other 162 pending. POST to a protected environment with
 * preflight and rehearsal on → the plan phase runs both → approve → apply. Each run on a fresh
 * copy of the seeded target (CREATE DATABASE … TEMPLATE); the step timestamps the worker records
 * are what is measured. Beside them: psql applying the same pending files to another copy.
 */
export interface PreflightSettings {
  rows: number
  repetitions: number
}

export interface PreflightRun {
  load: number
  preflight_ms: number
  rehearsal_ms: number
  /** POST → pending_approval: the whole plan phase (health check, read, parse, lint, preflight, rehearsal). */
  plan_ms: number
  /** The deploy step: lock held → every migration applied and recorded, on the seeded target. */
  apply_ms: number
  psql_ms: number
  psql_load: number
  checks: number
  predicted: number
  rehearsal_status: string
  rehearsed: number
}

export type PreflightResult = { skipped: string } | {
  settings: PreflightSettings
  migrations_pending: number
  seed_ms: number
  table_rows: Record<string, number>
  runs: PreflightRun[]
}

const say = (text: string): void => { process.stderr.write(`bench: preflight: ${text}\n`) }
const load1 = (): number => round(loadavg()[0] ?? 0, 2)

/** The corpus the bench reads: BENCH_CORPUS_DIR when set, else the tests' DOCUMENSO (DOCUMENSO_CORPUS_DIR or ../shared). */
export function preflightCorpus (): string {
  return process.env.BENCH_CORPUS_DIR === undefined ? DOCUMENSO : corpusDir()
}

/** Rows as documenso's first schema holds them: users with accounts, documents each with a recipient and a field, half of them signed. */
function seedSql (rows: number): string {
  const users = Math.max(1, Math.floor(rows / 10))
  return `
INSERT INTO "User" ("name", "email", "emailVerified", "password", "source", "identityProvider")
SELECT 'User ' || g, 'user' || g || '@example.com', CASE WHEN g % 3 = 0 THEN NULL ELSE now() - g * interval '1 minute' END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE '$2a$12$' || md5(g::text) || md5((g + 1)::text) END,
       CASE WHEN g % 7 = 0 THEN 'referral' ELSE NULL END,
       CASE WHEN g % 4 = 0 THEN 'GOOGLE'::"IdentityProvider" ELSE 'DOCUMENSO'::"IdentityProvider" END
  FROM generate_series(1, ${users}) g;
INSERT INTO "Account" ("id", "userId", "type", "provider", "providerAccountId", "access_token", "token_type", "scope")
SELECT 'acc_' || g, g, 'oauth', 'google', 'g-' || g, md5(g::text), 'Bearer', 'openid email profile'
  FROM generate_series(4, ${users}, 4) g;
INSERT INTO "Document" ("created", "userId", "title", "status", "document")
SELECT now() - g * interval '1 minute', 1 + g % ${users}, 'Contract ' || g || '.pdf',
       (ARRAY['DRAFT', 'PENDING', 'COMPLETED'])[1 + g % 3]::"DocumentStatus", encode(sha512(g::text::bytea), 'base64')
  FROM generate_series(1, ${rows}) g;
INSERT INTO "Recipient" ("documentId", "email", "name", "token", "readStatus", "signingStatus", "sendStatus")
SELECT g, 'signer' || g || '@example.org', 'Signer ' || g, md5('t' || g),
       (ARRAY['NOT_OPENED', 'OPENED'])[1 + g % 2]::"ReadStatus", (ARRAY['NOT_SIGNED', 'SIGNED'])[1 + g % 2]::"SigningStatus",
       (ARRAY['NOT_SENT', 'SENT'])[1 + g % 2]::"SendStatus"
  FROM generate_series(1, ${rows}) g;
INSERT INTO "Field" ("documentId", "recipientId", "type", "page", "positionX", "positionY", "customText", "inserted")
SELECT g, g, (ARRAY['SIGNATURE', 'FREE_SIGNATURE', 'DATE', 'TEXT'])[1 + g % 4]::"FieldType", 1 + g % 5, 50 + g % 400, 100 + g % 600, '', g % 2 = 0
  FROM generate_series(1, ${rows}) g;
INSERT INTO "Signature" ("created", "recipientId", "fieldId", "typedSignature")
SELECT now() - g * interval '1 minute', g, g, 'Signer ' || g
  FROM generate_series(2, ${rows}, 2) g;
ANALYZE;`
}

async function onDatabase<T> (name: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: name === '' ? adminUrl() : databaseUrl(name) })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function copyOf (template: string, name: string): Promise<void> {
  await dropDatabase(name)
  await onDatabase('', async (admin) => { await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`) })
}

const stepMs = (steps: Array<{ name: string, started_at: string | null, finished_at: string | null }>, name: string): number => {
  const step = steps.find((s) => s.name === name)
  if (step?.started_at == null || step.finished_at == null) throw new Error(`the deployment has no timed ${name} step`)
  return Date.parse(step.finished_at) - Date.parse(step.started_at)
}

interface GateRow {
  status: string
  created_ms: number
  steps: Array<{ name: string, started_at: string | null, finished_at: string | null }>
  report: unknown
  checks: number
  predicted: number
  rehearsal_status: string
  rehearsed: number
}

async function throughService (service: ServiceUnderTest): Promise<Omit<PreflightRun, 'psql_ms' | 'psql_load'>> {
  const load = load1()
  const id = await postDeployment(service.apiUrl, service.tokens.deployer, { environment: 'rehearsed', source: { ref: 'bench' } })
  const planned = await waitForStatus(service.control, id, ['pending_approval', 'failed'], { everyMs: 20, timeoutMs: 20 * 60_000 })
  const read = async (): Promise<GateRow> =>
    (await service.control.query(
      `SELECT status, steps, report, extract(epoch FROM created_at)::float8 * 1000 AS created_ms,
              coalesce(jsonb_array_length(plan->'preflight'), 0) AS checks,
              (SELECT count(*)::int FROM jsonb_array_elements(coalesce(plan->'preflight', '[]')) c WHERE c->>'status' = 'would_fail') AS predicted,
              coalesce(plan->'rehearsal'->>'status', 'none') AS rehearsal_status, coalesce(jsonb_array_length(plan->'rehearsal'->'migrations'), 0) AS rehearsed
         FROM deployments WHERE id = $1`, [id])).rows[0]
  if (planned.status !== 'pending_approval') throw new Error(`deployment ${id} ended ${planned.status} before approval: ${JSON.stringify((await read()).report).slice(0, 2000)}`)
  const gate = await read()
  await approveDeployment(service.apiUrl, service.tokens.approver, id)
  const ended = await waitForStatus(service.control, id, ['succeeded', 'failed'], { everyMs: 50, timeoutMs: 30 * 60_000 })
  const done = await read()
  if (ended.status !== 'succeeded') throw new Error(`deployment ${id} ended ${ended.status}: ${JSON.stringify(done.report).slice(0, 2000)}`)
  return {
    load,
    preflight_ms: stepMs(done.steps, 'preflight'),
    rehearsal_ms: stepMs(done.steps, 'rehearsal'),
    // The approval step starts when the plan phase has ended.
    plan_ms: Date.parse(done.steps.find((s) => s.name === 'approval')?.started_at ?? '') - done.created_ms,
    apply_ms: stepMs(done.steps, 'deploy'),
    checks: gate.checks,
    predicted: gate.predicted,
    rehearsal_status: gate.rehearsal_status,
    rehearsed: gate.rehearsed
  }
}

/** Measures preflight, rehearsal and apply of the documenso history on a seeded target; skips when the corpus is absent. */
export async function measurePreflight (settings: PreflightSettings): Promise<PreflightResult> {
  const corpus = preflightCorpus()
  if (!existsSync(path.join(corpus, '20230404095503_initial_migration', 'migration.sql'))) {
    return { skipped: `the documenso corpus is not at ${corpus} (set BENCH_CORPUS_DIR or DOCUMENSO_CORPUS_DIR to its folder)` }
  }
  const files = await prismaHandler.readSource(corpus)
  const [first, ...pending] = files
  if (first === undefined) return { skipped: `no migrations in ${corpus}` }
  const suffix = randomBytes(4).toString('hex')
  const template = `mdb_pf_tpl_${suffix}`
  const target = `mdb_pf_target_${suffix}`
  const psqlTarget = `mdb_pf_psql_${suffix}`
  let service: ServiceUnderTest | undefined
  try {
    say(`seeding: ${first.name} applied, then ${settings.rows} rows in Document, Recipient and Field`)
    await createDatabase(template)
    await applyWithPrisma(template, [first])
    const seedStarted = performance.now()
    await onDatabase(template, async (client) => { await client.query(seedSql(settings.rows)) })
    const seedMs = performance.now() - seedStarted
    const tableRows = await onDatabase(template, async (client) => Object.fromEntries((await client.query<{ relname: string, n: number }>(
      'SELECT relname, n_live_tup::int AS n FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY n_live_tup DESC, relname')).rows.map((r) => [r.relname, r.n])))
    service = await startService('preflight', {
      rehearsed: {
        database_url_env: 'BENCH_PREFLIGHT_URL',
        working_directory: 'documenso',
        protected: true,
        backup_before_migrate: false,
        // The bench's server role is a superuser; a protected environment refuses that unless told.
        allow_superuser: true,
        approval: { required_approvals: 1, roles: ['approver'] },
        // A prediction goes to the approver (and is counted here) instead of failing the run.
        rehearsal: { on_prediction: 'warn' }
      }
    }, { BENCH_PREFLIGHT_URL: databaseUrl(target) })
    await cp(corpus, path.join(service.workspace, 'documenso'), { recursive: true })
    const runs: PreflightRun[] = []
    for (let rep = 0; rep < settings.repetitions; rep++) {
      say(`run ${rep + 1} of ${settings.repetitions}: POST → preflight + rehearsal → approve → apply (${pending.length} pending)`)
      await copyOf(template, target)
      const service_ = await throughService(service)
      say(`run ${rep + 1}: psql applying the same ${pending.length} files to another copy`)
      await copyOf(template, psqlTarget)
      const psqlLoad = load1()
      const psqlMs = await applyWithPsql(pending.map((f) => path.join(corpus, f.name, 'migration.sql')), psqlTarget, path.join(tmpdir(), `md-bench-preflight-${suffix}.sql`))
      await dropDatabase(psqlTarget)
      runs.push({ ...service_, psql_ms: round(psqlMs), psql_load: psqlLoad })
    }
    return { settings, migrations_pending: pending.length, seed_ms: round(seedMs), table_rows: tableRows, runs }
  } finally {
    await service?.close().catch(() => {})
    for (const name of [target, psqlTarget, template]) await dropDatabase(name).catch(() => {})
  }
}

const each = (runs: PreflightRun[], key: keyof PreflightRun): string => runs.map((r) => String(round(Number(r[key])))).join(', ')

/** The preflight part's rows of the bench table. */
export function preflightFigures (r: PreflightResult): Figure[] {
  if ('skipped' in r) return [info('preflight.skipped', '6. Preflight and rehearsal: skipped', r.skipped)]
  const { runs } = r
  const rows = `${r.settings.rows.toLocaleString('en-US')} rows`
  const med = (key: keyof PreflightRun): number => round(median(runs.map((run) => Number(run[key]))))
  return [
    info('preflight.preflight_ms', `6. Preflight: documenso, ${r.migrations_pending} pending on ${rows} in its largest tables, median (each run)`, `${med('preflight_ms')} ms (${each(runs, 'preflight_ms')})`),
    info('preflight.rehearsal_ms', '6. Rehearsal (scratch copy of the schema, the plan applied, locks, diff), median (each run)', `${med('rehearsal_ms')} ms (${each(runs, 'rehearsal_ms')})`),
    info('preflight.apply_ms', '6. Plain apply of the same history on the seeded target: the service\'s deploy step, median (each run)', `${med('apply_ms')} ms (${each(runs, 'apply_ms')})`),
    info('preflight.psql_ms', '6. The same files applied by one psql process on a copy, median (each run)', `${med('psql_ms')} ms (${each(runs, 'psql_ms')})`),
    info('preflight.plan_ms', '6. POST → pending_approval (the whole plan phase), median (each run)', `${med('plan_ms')} ms (${each(runs, 'plan_ms')})`),
    info('preflight.ratio', '6. (preflight + rehearsal) ÷ plain apply, medians', round((med('preflight_ms') + med('rehearsal_ms')) / med('apply_ms'), 2), '×'),
    info('preflight.checks', '6. Preflight count checks / predicted failures; rehearsal status, migrations rehearsed',
      `${runs[0]?.checks ?? 0} / ${runs[0]?.predicted ?? 0}; ${runs[0]?.rehearsal_status ?? ''}, ${runs[0]?.rehearsed ?? 0}`),
    info('preflight.load', '6. Load average (1 min) at each service run / each psql run', `${runs.map((run) => run.load).join(', ')} / ${runs.map((run) => run.psql_load).join(', ')}`),
    info('preflight.rows', `6. Seeded target's rows (seeded in ${r.seed_ms} ms)`, Object.entries(r.table_rows).map(([t, n]) => `${t} ${n}`).join(', '))
  ]
}
