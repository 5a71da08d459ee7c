import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import t from 'tap'
import { redisConnectionOptions } from '../../src/config/runtime.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { PROJECT_ROOT } from '../helpers/harness.js'
import { reproduceImage } from '../helpers/reproduce-image.js'
import { until } from '../helpers/until.js'
import { freePort, killAll, spawnService, type ServiceProcess } from '../reliability/helpers/processes.js'

// The production image's contents, proven without a Docker engine: the Dockerfile's stages are
// reproduced from the tracked files (test/helpers/reproduce-image.ts), then the runtime stage's
// compiled `serve` and `worker` run with plain node, as the image's ENTRYPOINT would, and deploy.
// Two `npm ci` and a full `tsc` build on 2 shared cores: this file gets more than tap's 240 s.
t.setTimeout(900_000)

const work = mkdtempSync(path.join(tmpdir(), 'md-image-'))
t.teardown(() => { rmSync(work, { recursive: true, force: true }) })
const started = Date.now()
// A failed stage fails the file right here: its teardown would not run, so clean up first.
const image = await reproduceImage(PROJECT_ROOT, work).catch((error: unknown) => {
  rmSync(work, { recursive: true, force: true })
  throw error
})
t.comment(`stages reproduced in ${Date.now() - started} ms: ${image.timings.map((s) => `${s.stage} \`${s.step}\` ${s.ms} ms`).join(', ')}`)
t.comment(`not reproduced: ${image.skipped.join('; ')}`)

const bytes = (dir: string): number => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0])
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`

/** Resolves when the process logged that it is ready; fails naming it, with its last lines, after `ms`. */
async function readyWithin (service: ServiceProcess, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${service.role} was not ready within ${ms} ms:\n${service.lines.slice(-20).join('\n')}`)) }, ms)
  })
  try {
    await Promise.race([service.ready, late])
  } finally {
    clearTimeout(timer)
  }
}

t.test('the runtime stage holds compiled JavaScript, its runtime dependencies only, and the review page', async (t) => {
  const modules = path.join(image.workdir, 'node_modules')
  t.comment(`pruned tree: ${mb(bytes(image.workdir))} (node_modules ${mb(bytes(modules))})`)
  const lock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const devOnly = Object.entries(lock.packages).filter(([key, entry]) => key !== '' && entry.dev === true).map(([key]) => key)
  t.ok(devOnly.length > 0, 'the lock marks development-only packages')
  t.same(devOnly.filter((key) => existsSync(path.join(image.workdir, key))), [], 'no development-only package is installed')
  t.notOk(existsSync(path.join(modules, 'tsx')), 'tsx is not in the image: it runs compiled JavaScript')
  const typescript = (readdirSync(image.workdir, { recursive: true }) as string[])
    .filter((file) => !file.startsWith('node_modules') && /\.(c|m)?ts$/.test(file) && !file.endsWith('.d.ts'))
  t.same(typescript, [], 'no TypeScript source outside node_modules')
  t.ok(existsSync(path.join(image.workdir, 'ui', 'index.html')), 'the review page (ui/) is there')
  t.ok(existsSync(path.join(image.workdir, 'src', 'store', 'migrations')), 'the control database migrations are there')
})

t.test('serve and worker start from the pruned tree with plain node and deploy to succeeded', async (t) => {
  const node = image.entrypoint.indexOf('node')
  t.ok(node !== -1, `the ENTRYPOINT runs node: ${JSON.stringify(image.entrypoint)}`)
  const main = image.entrypoint[node + 1] as string
  // An empty control database: the processes migrate it from the migrations in the tree.
  const control = await createEmptyDatabase('md_image_control')
  const target = await createEmptyDatabase('md_image_dev')
  const queueName = `image-${randomBytes(4).toString('hex')}`
  const redisUrl = process.env.REDIS_URL as string
  const processes: ServiceProcess[] = []
  t.teardown(async () => {
    await killAll(processes)
    const queue = new Queue(queueName, { connection: redisConnectionOptions(redisUrl) })
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    await dropDatabase(control)
    await dropDatabase(target)
  })
  const port = await freePort()
  // The image's ENV (its config path points into the tree), then what a deployment would set.
  const env: NodeJS.ProcessEnv = {
    ...image.env,
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl(control),
    REDIS_URL: redisUrl,
    DEPLOYER_QUEUE: queueName,
    DEV_DATABASE_URL: databaseUrl(target)
  }
  t.equal(env.DEPLOYER_CONFIG, path.join(image.workdir, 'migration-deployer.yaml'), 'the image config is the tree\'s')
  const from = { cwd: image.workdir, main }
  const spawned = Date.now()
  const serve = spawnService('serve', env, processes, from)
  await readyWithin(serve, 60_000)
  const serveMs = Date.now() - spawned
  const worker = spawnService('worker', env, processes, from)
  await readyWithin(worker, 60_000)
  t.comment(`start time (spawn to "migration-deployer ready"): serve ${serveMs} ms, worker ${Date.now() - spawned - serveMs} ms after it`)

  const url = serve.url as string
  const page = await fetch(`${url}/ui/`)
  t.equal(page.status, 200, 'the review page is served')
  const created = await fetch(`${url}/deployments`, {
    method: 'POST',
    headers: { authorization: 'Bearer example-ci-token', 'content-type': 'application/json' },
    body: JSON.stringify({ environment: 'dev' })
  })
  const body = await created.json() as { id: string }
  t.equal(created.status, 202, JSON.stringify(body))
  const deployment = await until(async () => {
    const response = await fetch(`${url}/deployments/${body.id}`, { headers: { authorization: 'Bearer example-viewer-token' } })
    const current = await response.json() as { status: string, report?: unknown }
    return ['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(current.status) ? current : undefined
  }, `deployment ${body.id} to end`, 120_000, 100)
  t.equal(deployment.status, 'succeeded', JSON.stringify(deployment.report))
  const fixtures = readdirSync(path.join(PROJECT_ROOT, 'migrations-fixtures/app/prisma/migrations'), { withFileTypes: true }).filter((d) => d.isDirectory())
  const applied = await queryDatabase<{ n: string }>(target, 'SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL')
  t.equal(Number(applied[0]?.n), fixtures.length, 'every example migration is applied to the target')
  t.notOk(serve.lines.concat(worker.lines).some((line) => /"level":(50|60)/.test(line)), 'no error logged')
})
