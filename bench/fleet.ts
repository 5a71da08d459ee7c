import { execFileSync } from 'node:child_process'
import { handlerFor } from '../src/handlers/index.js'
import { databaseUrl } from '../test/helpers/databases.js'
import { startHarness } from '../test/helpers/harness.js'
import { migration, TenantDatabases } from '../test/helpers/tenant-databases.js'

/**
 * Fleet figures (issue 21): `npx tsx bench/fleet.ts` with DATABASE_URL and REDIS_URL set
 * (scripts/with-services.sh). FLEET_IDLE tenant databases with nothing pending, deployed as one
 * fleet (goal: under 60 s for 1,000 and at least 8× a one-at-a-time loop reading each history),
 * and FLEET_BUSY tenant databases × 5 migrations (time per target, and the ratio to one psql per
 * target applying the same files). FLEET_CONCURRENCY sets rollout.concurrency (default 16).
 */
const IDLE = Number(process.env.FLEET_IDLE ?? 1000)
const BUSY = Number(process.env.FLEET_BUSY ?? 200)
const CONCURRENCY = Number(process.env.FLEET_CONCURRENCY ?? 16)
const FIVE = Array.from({ length: 5 }, (_, i) =>
  migration(`2025010${i + 1}000000_m${i}`, `CREATE TABLE t${i} (id serial PRIMARY KEY, note text);\nCREATE INDEX ON t${i} (note);\n`))

const tenants = new TenantDatabases()
const seconds = (ms: number): number => Math.round(ms) / 1000

async function fleetRun (environment: string, count: number, pendingTemplate: boolean): Promise<{ names: string[], ms: number, status: string }> {
  const names = await tenants.clone(await tenants.template(pendingTemplate ? [] : FIVE), `md_b${environment.slice(0, 1)}`, count)
  const h = await startHarness({
    environments: {
      [environment]: {
        database_url_env: undefined,
        targets: { list: names.map((name, i) => ({ name, database_url_env: `BENCH_TENANT_${i}` })) },
        rollout: { canary: 1, batch_size: '25%', concurrency: CONCURRENCY },
        health_check: { checks: ['connectivity'], timeout: '30s' }
      }
    },
    env: Object.fromEntries(names.map((name, i) => [`BENCH_TENANT_${i}`, databaseUrl(name)]))
  })
  try {
    const started = performance.now()
    const created = await h.request('POST', '/deployments', { body: { environment, migrations: FIVE.map(({ name, sql }) => ({ name, sql })) } })
    const done = await h.waitFor(created.json().id as string, ['succeeded', 'failed'], 30 * 60_000)
    return { names, ms: performance.now() - started, status: done.status }
  } finally {
    await h.close()
  }
}

try {
  const idle = await fleetRun('idle', IDLE, false)
  const handler = handlerFor({ migration_tool: 'prisma' })
  const loopStarted = performance.now()
  for (const name of idle.names) await handler.status(databaseUrl(name), FIVE)
  const loopMs = performance.now() - loopStarted
  const speedup = Math.round(loopMs / idle.ms * 10) / 10
  console.log(JSON.stringify({ idle_targets: IDLE, fleet_seconds: seconds(idle.ms), status: idle.status, one_at_a_time_seconds: seconds(loopMs), speedup }))

  const busy = await fleetRun('busy', BUSY, true)
  const sql = FIVE.map((m) => m.sql).join('')
  const psqlTemplate = await tenants.clone(await tenants.template([]), 'md_bp', BUSY)
  const psqlStarted = performance.now()
  const admin = new URL(process.env.TEST_ADMIN_DATABASE_URL ?? process.env.DATABASE_URL ?? '')
  for (const name of psqlTemplate) {
    const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', admin.hostname, '-p', admin.port, '-U', decodeURIComponent(admin.username), '-d', name, '-c', sql]
    execFileSync('psql', args, {
      env: { ...process.env, PGPASSWORD: decodeURIComponent(admin.password) }
    })
  }
  const psqlMs = performance.now() - psqlStarted
  console.log(JSON.stringify({
    busy_targets: BUSY,
    fleet_seconds: seconds(busy.ms),
    status: busy.status,
    seconds_per_target: seconds(busy.ms / BUSY),
    psql_seconds: seconds(psqlMs),
    psql_seconds_per_target: seconds(psqlMs / BUSY),
    ratio_to_psql: Math.round(busy.ms / psqlMs * 10) / 10
  }))
} finally {
  await tenants.drop()
}
