import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { BadRequestError } from '../../src/errors/index.js'
import { handlerFor } from '../../src/handlers/index.js'
import { FIXTURES, startHarness } from '../helpers/harness.js'

/**
 * Symlinks inside a project folder must not lead the deployer out of the workspace: a
 * `prisma/migrations` linked elsewhere used to be read, and a `migration.sql` linked to
 * /etc/passwd parsed (issue 17, finding 2). Every folder and file read is resolved with realpath
 * and refused, naming the link, when it leaves the workspace; links that stay inside still work.
 */

const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'md-symlinks-')))
t.teardown(() => { rmSync(base, { recursive: true, force: true }) })
const root = path.join(base, 'workspace')
const outside = path.join(base, 'outside')

// Outside the workspace: a Prisma migrations folder, SQL files and script files an attacker controls.
mkdirSync(path.join(outside, 'prisma-migrations', '20250101000000_outside'), { recursive: true })
writeFileSync(path.join(outside, 'prisma-migrations', '20250101000000_outside', 'migration.sql'), 'CREATE TABLE read_from_outside (id int);\n')
mkdirSync(path.join(outside, 'sql'), { recursive: true })
writeFileSync(path.join(outside, 'sql', 'V1__outside.sql'), 'CREATE TABLE read_from_outside (id int);\n')
writeFileSync(path.join(outside, 'secret.txt'), 'SECRET-OUTSIDE-THE-WORKSPACE\n')

const project = (name: string): string => path.join(root, name)
const link = (target: string, at: string): void => { mkdirSync(path.dirname(at), { recursive: true }); symlinkSync(target, at) }

// prisma: the migrations folder linked out; one migration.sql linked to a file outside.
link(path.join(outside, 'prisma-migrations'), project('prisma-folder-out/prisma/migrations'))
cpSync(path.join(FIXTURES, 'app'), project('prisma-file-out'), { recursive: true })
link(path.join(outside, 'secret.txt'), project('prisma-file-out/prisma/migrations/20250125000000_passwd/migration.sql'))
// a migration folder linked out (the folder entry itself is the link)
cpSync(path.join(FIXTURES, 'app'), project('prisma-entry-out'), { recursive: true })
link(path.join(outside, 'prisma-migrations', '20250101000000_outside'), project('prisma-entry-out/prisma/migrations/20250126000000_linked'))
// sql: the folder linked out; a file linked out.
link(path.join(outside, 'sql'), project('sql-folder-out/migrations'))
cpSync(path.join(FIXTURES, 'sql-app'), project('sql-file-out'), { recursive: true })
link(path.join(outside, 'secret.txt'), project('sql-file-out/migrations/V9__passwd.sql'))
// command (typeorm preset): the migrations folder linked out.
mkdirSync(project('typeorm-out'), { recursive: true })
link(path.join(outside, 'sql'), project('typeorm-out/migrations'))
// Links that stay inside the workspace keep working.
cpSync(path.join(FIXTURES, 'app'), project('shared'), { recursive: true })
link('../../shared/prisma/migrations', project('prisma-inside/prisma/migrations'))

function refusedNaming (t: Test, error: unknown, linkPath: string): void {
  t.type(error, BadRequestError, 'a 400-class error')
  const bad = error as BadRequestError
  t.equal(bad.code, 'SYMLINK_OUTSIDE_WORKSPACE')
  t.match(bad.message, `"${linkPath}"`, `names the link ${linkPath}`)
  t.match(bad.message, /outside the workspace/)
  t.notOk(bad.message.includes(base), 'does not disclose where the workspace or the target is')
}

t.test('every handler refuses folders and files that a symlink leads out of the workspace', async (t) => {
  const prisma = handlerFor({ migration_tool: 'prisma' })
  const sql = handlerFor({ migration_tool: 'sql' })
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['prisma: migrations folder', async () => await prisma.readSource(project('prisma-folder-out'), root), 'prisma-folder-out/prisma/migrations'],
    ['prisma: accept-time check', async () => await prisma.checkSource?.(project('prisma-folder-out'), root), 'prisma-folder-out/prisma/migrations'],
    ['prisma: migration.sql', async () => await prisma.readSource(project('prisma-file-out'), root),
      'prisma-file-out/prisma/migrations/20250125000000_passwd/migration.sql'],
    ['prisma: a migration folder', async () => await prisma.readSource(project('prisma-entry-out'), root),
      'prisma-entry-out/prisma/migrations/20250126000000_linked'],
    ['sql: migrations folder', async () => await sql.readSource(project('sql-folder-out'), root), 'sql-folder-out/migrations'],
    ['sql: a .sql file', async () => await sql.readSource(project('sql-file-out'), root), 'sql-file-out/migrations/V9__passwd.sql']
  ]
  const command = { preset: 'typeorm' as const, url_env: 'DATABASE_URL', env: {}, pass_env: [], timeout: 60_000, status_timeout: 60_000 }
  const typeorm = handlerFor({ migration_tool: 'command', command }, project('typeorm-out'))
  cases.push(['command (typeorm): migrations folder', async () => await typeorm.readSource(project('typeorm-out'), root), 'typeorm-out/migrations'])
  for (const [what, read, linkPath] of cases) {
    let error: unknown
    let read_: unknown
    try {
      read_ = await read()
    } catch (caught) {
      error = caught
    }
    t.ok(error !== undefined, `${what}: refused (read ${JSON.stringify(read_)?.slice(0, 120) ?? 'nothing'})`)
    if (error !== undefined) refusedNaming(t, error, linkPath)
  }

  const inside = await prisma.readSource(project('prisma-inside'), root)
  t.same(inside.map((m) => m.name), (await prisma.readSource(project('shared'), root)).map((m) => m.name), 'a link that stays inside the workspace is followed')
})

t.test('the API refuses with a 400 naming the link; the worker fails clearly when a link appears later', async (t) => {
  const h = await startHarness({ workspaceRoot: root })
  t.teardown(h.close)

  const accepted = await h.request('POST', '/deployments', { body: { environment: 'dev', working_directory: 'prisma-folder-out' } })
  t.equal(accepted.statusCode, 400, `a project whose migrations folder links out: 400 (${accepted.body.slice(0, 200)})`)
  t.equal(accepted.json<{ error: { code: string } }>().error.code, 'SYMLINK_OUTSIDE_WORKSPACE')
  t.match(accepted.json<{ error: { message: string } }>().error.message, '"prisma-folder-out/prisma/migrations"')

  const inside = await h.request('POST', '/deployments', { body: { environment: 'dev', working_directory: 'prisma-inside', dry_run: true } })
  t.equal(inside.statusCode, 202, 'a link inside the workspace is accepted')
  t.equal((await h.waitFor(inside.json<{ id: string }>().id, ['succeeded', 'failed'])).status, 'succeeded')

  // Accepted while harmless, then a migration.sql is swapped for a link to a file outside.
  cpSync(path.join(FIXTURES, 'app'), project('swapped'), { recursive: true })
  const created = await h.request('POST', '/deployments', { body: { environment: 'staging', working_directory: 'swapped' } })
  t.equal(created.statusCode, 202, 'accepted while the project holds no link')
  const file = project('swapped/prisma/migrations/20250110090000_init/migration.sql')
  unlinkSync(file)
  symlinkSync(path.join(outside, 'secret.txt'), file)
  const failed = await h.waitFor(created.json<{ id: string }>().id, ['failed', 'succeeded'])
  t.equal(failed.status, 'failed', 'the worker refuses to read it')
  const error = (failed.report as { error: string }).error
  t.match(error, '"swapped/prisma/migrations/20250110090000_init/migration.sql"', 'the report names the link')
  t.match(error, /outside the workspace/)
  const log = await h.request('GET', `/deployments/${failed.id}/log`, { as: 'viewer' })
  t.notOk(log.body.includes('SECRET-OUTSIDE-THE-WORKSPACE'), 'the file outside was never read into the log')
  t.notOk(JSON.stringify(failed).includes('SECRET-OUTSIDE-THE-WORKSPACE'), 'nor into the deployment')
})
