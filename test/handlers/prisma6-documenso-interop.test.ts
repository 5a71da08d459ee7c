import { cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { documensoSkip, DOCUMENSO } from '../helpers/corpus.js'
import { databaseUrl, queryDatabase } from '../helpers/databases.js'
import { startHarness } from '../helpers/harness.js'
import { preparePrisma6, prisma6Missing } from '../helpers/prisma6.js'

/**
 * The real Prisma Migrate 6.19.3 (../shared/prisma6) as the reference our Prisma handler must
 * agree with, on documenso's 163 migrations (not only on fixtures): a database the service
 * deployed reads "up to date" to `prisma migrate status`, and one Prisma deployed halfway is
 * finished by the service (Prisma's rows kept, the rest applied) and then reads "up to date" too.
 */

// Past the $$ body of 20240205120648_create_delete_account (the 51st), short of Prisma's slow whole.
const HALF = 60
// Prisma 6's deploy spends about 10 s on an engine timer and tens more on a busy machine: beyond the default 240 s per file.
t.setTimeout(900_000)

async function migrationFolders (): Promise<string[]> {
  const entries = await readdir(DOCUMENSO, { withFileTypes: true })
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

const skip = documensoSkip() || prisma6Missing() || false
t.test('documenso: deployed by us reads up to date to prisma migrate status; half-deployed by Prisma is finished by us', { skip }, async (t) => {
  const prisma = await preparePrisma6()
  const folders = await migrationFolders()
  t.equal(folders.length, 163, 'the corpus has 163 migrations')
  // Prisma's part: the first HALF folders.
  const half = await mkdtemp(path.join(tmpdir(), 'md-p6-half-'))
  t.teardown(async () => { await rm(half, { recursive: true, force: true }) })
  for (const name of folders.slice(0, HALF)) await cp(path.join(DOCUMENSO, name), path.join(half, name), { recursive: true })

  const h = await startHarness({
    workspaceRoot: path.dirname(DOCUMENSO),
    environments: { ours: { working_directory: path.basename(DOCUMENSO) }, finish: { working_directory: path.basename(DOCUMENSO) } }
  })
  t.teardown(h.close)
  const [ours, finish] = [h.targets.ours as string, h.targets.finish as string]

  // Prisma deploys its half (about 10 s of it an engine timer) while the service deploys the other database.
  const halfDeployed = prisma.run(['migrate', 'deploy'], { databaseUrl: databaseUrl(finish), migrationsDir: half, wholeScript: true })
  async function deploy (environment: string, expected: number): Promise<void> {
    const created = await h.request('POST', '/deployments', { body: { environment } })
    t.equal(created.statusCode, 202, created.body)
    const done = await h.waitFor(created.json().id, ['succeeded', 'failed'], 300_000)
    t.equal(done.status, 'succeeded', `the service deployed ${environment}`) || t.comment(JSON.stringify(done.report))
    t.equal((done.report as { result?: { migrations_applied?: number } }).result?.migrations_applied, expected, `${expected} applied by the service to ${environment}`)
  }
  await deploy('ours', 163)
  const statusOurs = await prisma.run(['migrate', 'status'], { databaseUrl: databaseUrl(ours), migrationsDir: DOCUMENSO })
  t.equal(statusOurs.exitCode, 0, 'prisma migrate status exits 0 on the database the service deployed') || t.comment(statusOurs.output)
  t.match(statusOurs.output, /163 migrations found[\s\S]*Database schema is up to date!/, 'ours: up to date to Prisma')

  const deployed = await halfDeployed
  t.equal(deployed.exitCode, 0, 'prisma migrate deploy of the first half succeeded') || t.comment(deployed.output)
  const before = await queryDatabase<{ migration_name: string, id: string }>(finish, 'SELECT migration_name, id FROM _prisma_migrations ORDER BY migration_name')
  t.same(before.map((row) => row.migration_name), folders.slice(0, HALF), `Prisma recorded its ${HALF}`)
  const pending = await prisma.run(['migrate', 'status'], { databaseUrl: databaseUrl(finish), migrationsDir: DOCUMENSO })
  t.not(pending.exitCode, 0, 'to Prisma, the half-deployed database is not up to date') || t.comment(pending.output)

  await deploy('finish', 163 - HALF)
  const after = await queryDatabase<{ migration_name: string, id: string, finished_at: Date | null }>(finish,
    'SELECT migration_name, id, finished_at FROM _prisma_migrations WHERE rolled_back_at IS NULL ORDER BY migration_name')
  t.same(after.map((row) => row.migration_name), folders, 'one row per migration, in order')
  t.same(after.slice(0, HALF).map((row) => row.id), before.map((row) => row.id), 'Prisma\'s rows kept as they were')
  t.ok(after.every((row) => row.finished_at !== null), 'every row finished')
  const statusFinished = await prisma.run(['migrate', 'status'], { databaseUrl: databaseUrl(finish), migrationsDir: DOCUMENSO })
  t.equal(statusFinished.exitCode, 0, 'prisma migrate status exits 0 on the database the service finished') || t.comment(statusFinished.output)
  t.match(statusFinished.output, /163 migrations found[\s\S]*Database schema is up to date!/, 'finished by us: up to date to Prisma')
})
