import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { tmpdir } from 'node:os'
import pg from 'pg'
import { childEnvironment, libpqEnvironment } from '../src/backup/libpq-env.js'
import { adminUrl } from '../test/helpers/databases.js'
import { migration, TenantDatabases, tenantUrlTemplate } from '../test/helpers/tenant-databases.js'
import { postDeployment } from './lib/api-client.js'
import { databaseUrl } from './lib/databases.js'
import { info, targeted, type Figure } from './lib/report.js'
import { controlWrites, startService, waitForStatus, writesBetween, type ServiceUnderTest, type WriteCounts } from './lib/service-under-test.js'
import { mean, median, round } from './lib/stats.js'

/**
 * Fleet figures (issue 21, SPEC §14), through the service as shipped (API and worker processes of
 * the built CLI, a control database of their own): `idle` tenant databases with nothing pending
 * deployed as one fleet, once per concurrency in `concurrencies` and `repetitions` times at the
 * fastest; the one-at-a-time baseline (`baseline` separate single-database deployments of the same
 * migrations to evenly spaced tenants, one after the other, extrapolated to `idle`); `busy` empty
 * tenant databases × 5 migrations as one fleet, against one psql process per target applying the
 * same five files one transaction each; and the control database's row writes per target.
 */
export interface FleetSettings {
  idle: number
  busy: number
  baseline: number
  concurrencies: number[]
  repetitions: number
  /** Runs of the busy fleet and of its psql baseline (each makes 2 × `busy` databases). */
  busyRepetitions: number
}

interface Run {
  ms: number
  load: number
  status: string
  writes: WriteCounts
  polls: number
}

export interface FleetResult {
  settings: FleetSettings
  /** Idle fleet, one run per concurrency (the sweep). */
  sweep: Array<{ concurrency: number, ms: number, load: number }>
  concurrency: number
  idle_ms: number[]
  idle_load: number[]
  /** The same fleet limited to the first tenth of its targets (how the control writes grow). */
  idle_small: { targets: number, ms: number, writes: WriteCounts }
  baseline_ms_each: number[]
  baseline_load: number[]
  baseline_extrapolated_ms: number
  speedup: number
  busy_ms: number[]
  busy_load: number[]
  psql_ms: number[]
  psql_load: number[]
  ratio_to_psql: number
  writes: { idle: WriteCounts, busy: WriteCounts, single: WriteCounts, startup: WriteCounts }
}

const FIVE = Array.from({ length: 5 }, (_, i) =>
  migration(`2025010${i + 1}000000_m${i}`, `CREATE TABLE t${i} (id serial PRIMARY KEY, note text);\nCREATE INDEX ON t${i} (note);\n`))
const INLINE = FIVE.map(({ name, sql }) => ({ name, sql }))
const say = (text: string): void => { process.stderr.write(`bench: fleet: ${text}\n`) }
const load1 = (): number => round(loadavg()[0] ?? 0, 2)

function catalog (prefix: string, limit?: number): Record<string, unknown> {
  const query = `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}\\_%' ORDER BY datname${limit === undefined ? '' : ` LIMIT ${limit}`}`
  return { catalog_url_env: 'BENCH_FLEET_CATALOG_URL', names_query: query, url_template_env: 'BENCH_FLEET_URL_TEMPLATE' }
}

/** Stops the processes so their statistics reach PostgreSQL, reads the counters, starts them again. */
async function settledWrites (service: ServiceUnderTest): Promise<WriteCounts> {
  await service.stopProcesses()
  const counts = await controlWrites(service.control)
  await service.startProcesses()
  return counts
}

/** One deployment through the service, timed by its row (created → finished), with the control writes it caused. */
async function deploy (service: ServiceUnderTest, environment: string, timeoutMs: number): Promise<Run> {
  const before = await settledWrites(service)
  const load = load1()
  const id = await postDeployment(service.apiUrl, service.tokens.deployer, { environment, migrations: INLINE })
  const { status, polls } = await waitForStatus(service.control, id, ['succeeded', 'failed'], { everyMs: 50, timeoutMs })
  const { rows } = await service.control.query<{ ms: number, report: unknown }>(
    'SELECT extract(epoch FROM finished_at - created_at)::float8 * 1000 AS ms, report FROM deployments WHERE id = $1', [id])
  if (status !== 'succeeded') throw new Error(`fleet deployment ${id} to ${environment} ended ${status}: ${JSON.stringify(rows[0]?.report).slice(0, 2000)}`)
  const after = await settledWrites(service)
  return { ms: rows[0]?.ms ?? Number.NaN, load, status, writes: writesBetween(before, after), polls: polls + 1 }
}

/** One psql process per database, each applying the five files one transaction each, one after the other. */
async function psqlLoop (names: string[]): Promise<number> {
  const script = path.join(tmpdir(), `md-bench-fleet-${randomBytes(4).toString('hex')}.sql`)
  await writeFile(script, FIVE.map((m) => `BEGIN;\n${m.sql}COMMIT;\n`).join(''))
  const started = performance.now()
  for (const name of names) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', script], {
        env: childEnvironment(libpqEnvironment(databaseUrl(name), 'migration-deployer bench psql')), stdio: ['ignore', 'ignore', 'pipe']
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
      child.once('error', reject)
      child.once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`psql on ${name} exited ${String(code)}: ${stderr.slice(-500)}`)) })
    })
  }
  return performance.now() - started
}

async function dropAll (names: string[]): Promise<void> {
  const admin = new pg.Pool({ connectionString: adminUrl(), max: 4 })
  try {
    await Promise.all(names.map(async (name) => { await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) }))
  } finally {
    await admin.end()
  }
}

/** Runs the fleet measurements; every tenant database it creates is dropped before it returns. */
export async function measureFleet (settings: FleetSettings): Promise<FleetResult> {
  const suffix = randomBytes(3).toString('hex')
  const tenants = new TenantDatabases()
  let service: ServiceUnderTest | undefined
  try {
    say(`creating ${settings.idle} tenant databases with the five migrations applied (CREATE DATABASE … TEMPLATE)`)
    const idlePrefix = `mdb_fi${suffix}`
    const idle = await tenants.clone(await tenants.template(FIVE), idlePrefix, settings.idle)
    const step = Math.max(1, Math.floor(idle.length / settings.baseline))
    const sample = Array.from({ length: Math.min(settings.baseline, idle.length) }, (_, i) => idle[i * step] as string)
    const environments: Record<string, unknown> = {}
    const env: Record<string, string> = { BENCH_FLEET_CATALOG_URL: adminUrl(), BENCH_FLEET_URL_TEMPLATE: tenantUrlTemplate() }
    const rollout = (concurrency: number): Record<string, unknown> => ({ canary: 1, batch_size: '25%', concurrency })
    for (const c of settings.concurrencies) {
      environments[`fleet_idle_c${c}`] = { targets: catalog(idlePrefix), rollout: rollout(c) }
      for (let rep = 0; rep < settings.busyRepetitions; rep++) environments[`fleet_busy_r${rep}_c${c}`] = { targets: catalog(`mdb_fb${rep}${suffix}`), rollout: rollout(c) }
    }
    const smallCount = Math.max(1, Math.round(settings.idle / 10))
    environments.fleet_idle_small = { targets: catalog(idlePrefix, smallCount), rollout: rollout(settings.concurrencies[0] ?? 8) }
    sample.forEach((name, i) => {
      environments[`tenant_${i}`] = { database_url_env: `BENCH_TENANT_${i}` }
      env[`BENCH_TENANT_${i}`] = databaseUrl(name)
    })
    service = await startService('fleet', environments, env)
    // Warm: the worker's first deployment loads what later ones reuse (as in a running service).
    await deploy(service, 'tenant_0', 60_000)

    const startup = writesBetween(await settledWrites(service), await settledWrites(service))
    const sweep: FleetResult['sweep'] = []
    for (const c of settings.concurrencies) {
      say(`${settings.idle} tenants, nothing pending, concurrency ${c}`)
      const run = await deploy(service, `fleet_idle_c${c}`, 10 * 60_000)
      sweep.push({ concurrency: c, ms: round(run.ms), load: run.load })
    }
    const best = [...sweep].sort((a, b) => a.ms - b.ms)[0]?.concurrency ?? 8
    const idleRuns: Run[] = []
    for (let rep = 0; rep < settings.repetitions; rep++) {
      say(`${settings.idle} tenants, nothing pending, concurrency ${best}, run ${rep + 1} of ${settings.repetitions}`)
      idleRuns.push(await deploy(service, `fleet_idle_c${best}`, 10 * 60_000))
    }
    say('the first tenth of the same fleet (control writes at another size)')
    const small = await deploy(service, 'fleet_idle_small', 10 * 60_000)

    say(`one at a time: ${sample.length} single-database deployments, one after the other`)
    const single: Run[] = []
    for (let i = 0; i < sample.length; i++) {
      const load = load1()
      const id = await postDeployment(service.apiUrl, service.tokens.deployer, { environment: `tenant_${i}`, migrations: INLINE })
      const { status } = await waitForStatus(service.control, id, ['succeeded', 'failed'], { everyMs: 5, timeoutMs: 120_000 })
      const { rows } = await service.control.query<{ ms: number }>('SELECT extract(epoch FROM finished_at - created_at)::float8 * 1000 AS ms FROM deployments WHERE id = $1', [id])
      if (status !== 'succeeded') throw new Error(`single deployment ${id} ended ${status}`)
      single.push({ ms: rows[0]?.ms ?? Number.NaN, load, status, writes: { commits: 0, by_table: {}, rows_written: 0 }, polls: 0 })
    }
    const singleWrites = (await deploy(service, 'tenant_0', 60_000)).writes

    const busyRuns: Run[] = []
    const psqlMs: number[] = []
    const psqlLoad: number[] = []
    const empty = await tenants.template([])
    for (let rep = 0; rep < settings.busyRepetitions; rep++) {
      say(`${settings.busy} empty tenants × 5 migrations, concurrency ${best}, run ${rep + 1} of ${settings.busyRepetitions}`)
      const busy = await tenants.clone(empty, `mdb_fb${rep}${suffix}`, settings.busy)
      busyRuns.push(await deploy(service, `fleet_busy_r${rep}_c${best}`, 30 * 60_000))
      const applied = await service.control.query<{ n: string }>(
        'SELECT sum(migrations_applied)::text AS n FROM fleet_targets WHERE deployment_id = (SELECT id FROM deployments WHERE environment = $1 ORDER BY created_at DESC LIMIT 1)',
        [`fleet_busy_r${rep}_c${best}`])
      if (Number(applied.rows[0]?.n) !== settings.busy * FIVE.length) throw new Error(`the busy fleet applied ${String(applied.rows[0]?.n)} migrations, expected ${settings.busy * FIVE.length}`)
      await dropAll(busy)
      say(`the same work with one psql per target, run ${rep + 1} of ${settings.busyRepetitions}`)
      const forPsql = await tenants.clone(empty, `mdb_fp${rep}${suffix}`, settings.busy)
      psqlLoad.push(load1())
      psqlMs.push(await psqlLoop(forPsql))
      await dropAll(forPsql)
    }

    const singleMs = single.map((run) => run.ms)
    const extrapolated = mean(singleMs) * settings.idle
    const idleMs = idleRuns.map((run) => run.ms)
    const busyMs = busyRuns.map((run) => run.ms)
    return {
      settings,
      sweep,
      concurrency: best,
      idle_ms: idleMs.map((ms) => round(ms)),
      idle_load: idleRuns.map((run) => run.load),
      idle_small: { targets: Math.max(1, Math.round(settings.idle / 10)), ms: round(small.ms), writes: small.writes },
      baseline_ms_each: singleMs.map((ms) => round(ms)),
      baseline_load: single.filter((_, i) => i % 10 === 0).map((run) => run.load),
      baseline_extrapolated_ms: round(extrapolated),
      speedup: extrapolated / median(idleMs),
      busy_ms: busyMs.map((ms) => round(ms)),
      busy_load: busyRuns.map((run) => run.load),
      psql_ms: psqlMs.map((ms) => round(ms)),
      psql_load: psqlLoad,
      ratio_to_psql: median(busyMs) / median(psqlMs),
      writes: { idle: idleRuns[0]?.writes ?? small.writes, busy: busyRuns[0]?.writes ?? small.writes, single: singleWrites, startup }
    }
  } finally {
    await service?.close().catch(() => {})
    await tenants.drop()
  }
}

const perTarget = (writes: WriteCounts, startup: WriteCounts, targets: number): number => round((writes.rows_written - startup.rows_written) / targets, 2)
const tables = (writes: WriteCounts): string => Object.entries(writes.by_table).map(([t, c]) => `${t} ${c.inserted}/${c.updated}/${c.deleted}`).join(', ')

/** The fleet's rows of the bench table. */
export function fleetFigures (r: FleetResult): Figure[] {
  const { idle, busy } = r.settings
  const { startup } = r.writes
  const idleSeconds = median(r.idle_ms) / 1000
  return [
    targeted('fleet.idle_seconds', `7. Fleet: ${idle} tenant databases, nothing pending, one fleet deployment (median of ${r.idle_ms.length}, concurrency ${r.concurrency})`, round(idleSeconds, 2), 's', '<', 60),
    info('fleet.idle_each_ms', '7. Fleet: idle fleet, each run (POST → succeeded, the row\'s timestamps); load average at each start', `${r.idle_ms.join(', ')} ms; load ${r.idle_load.join(', ')}`),
    targeted('fleet.speedup', `7. Fleet: one at a time (${r.baseline_ms_each.length} single deployments one after the other, mean × ${idle}) ÷ the fleet`, round(r.speedup, 1), '×', '>=', 8),
    info('fleet.one_at_a_time', `7. Fleet: one at a time, per deployment median / p-min / p-max; extrapolated to ${idle}; load`,
      `${round(median(r.baseline_ms_each))} / ${Math.min(...r.baseline_ms_each)} / ${Math.max(...r.baseline_ms_each)} ms; ${round(r.baseline_extrapolated_ms / 1000, 1)} s; load ${r.baseline_load.join(', ')}`),
    info('fleet.concurrency_sweep', '7. Fleet: idle fleet by rollout.concurrency, one run each (ms, load)', r.sweep.map((s) => `${s.concurrency}: ${s.ms} (${s.load})`).join('; ')),
    info('fleet.busy_per_target_ms', `7. Fleet: ${busy} tenants × 5 migrations, time per target (fleet ÷ ${busy}, median of ${r.busy_ms.length})`, round(median(r.busy_ms) / busy, 1), 'ms'),
    info('fleet.busy_each_ms', '7. Fleet: busy fleet, each run; load', `${r.busy_ms.join(', ')} ms; load ${r.busy_load.join(', ')}`),
    info('fleet.psql_each_ms', `7. Fleet: one psql per target, ${busy} one after the other, each run; load`, `${r.psql_ms.join(', ')} ms; load ${r.psql_load.join(', ')}`),
    info('fleet.ratio_to_psql', '7. Fleet: busy fleet ÷ one psql per target (medians)', round(r.ratio_to_psql, 2), '×'),
    info('fleet.writes_idle', `7. Fleet: control-DB rows written per target, idle fleet of ${idle} / of ${r.idle_small.targets} (startup subtracted)`,
      `${perTarget(r.writes.idle, startup, idle)} / ${perTarget(r.idle_small.writes, startup, r.idle_small.targets)}`),
    info('fleet.writes_busy', `7. Fleet: control-DB rows written per target, ${busy} × 5 migrations; a single-database deployment of the 5, nothing pending`,
      `${perTarget(r.writes.busy, startup, busy)}; ${r.writes.single.rows_written - startup.rows_written}`),
    info('fleet.writes_tables', '7. Fleet: control-DB rows inserted/updated/deleted by table, busy fleet', tables(r.writes.busy))
  ]
}
