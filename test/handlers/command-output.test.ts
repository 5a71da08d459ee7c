import path from 'node:path'
import t from 'tap'
import { failureFrom, timingsFrom } from '../../src/handlers/command/apply-with-tool.js'
import { statusFromTool } from '../../src/handlers/command/index.js'
import { toolSpecOf } from '../../src/handlers/command/presets.js'
import type { ToolRun } from '../../src/handlers/command/run-tool.js'
import { parsePrismaStatus, parseSequelizeStatus, parseTypeormStatus, patternStatusParser } from '../../src/handlers/command/status-formats.js'
import { readPrismaMigrations } from '../../src/handlers/prisma/read-migrations.js'
import { FIXTURES } from '../helpers/harness.js'

const lines = (text: string): string[] => text.split('\n')

t.test('typeorm migration:show, as TypeORM 1.1 prints it (captured) and as 0.3 did (no id)', async (t) => {
  t.same(parseTypeormStatus(lines('[X] 1 CreateUsers1736500000000\n[ ] AddPosts1736600000000\n')), { applied: ['CreateUsers1736500000000'], pending: ['AddPosts1736600000000'], failed: [], missing: [] })
  t.same(parseTypeormStatus(lines('query: SELECT 1\n[X] CreateUsers1736500000000\n[ ] AddPosts1736600000000'))?.applied, ['CreateUsers1736500000000'])
})

t.test('sequelize-cli db:migrate:status (captured from sequelize-cli 6.6.5)', async (t) => {
  const output = '\nSequelize CLI [Node: 20.20.2, CLI: 6.6.5, ORM: 6.37.8]\n\nLoaded configuration file "config/config.js".\nUsing environment "development".\nup 20250110090000-create-customers.js\ndown 20250111090000-create-orders.js\n'
  t.same(parseSequelizeStatus(lines(output)), { applied: ['20250110090000-create-customers.js'], pending: ['20250111090000-create-orders.js'], failed: [], missing: [] })
})

// Not captured from a run: the Prisma 7 CLI downloads its schema engine at run time, which this
// machine cannot. These texts follow the templates of Prisma's own MigrateStatus command.
const PRISMA_HEAD = 'Prisma schema loaded from prisma/schema.prisma\nDatasource "db": PostgreSQL database "app", schema "public" at "localhost:5432"\n\n5 migrations found in prisma/migrations\n'

t.test('prisma migrate status (recorded from Prisma\'s message templates)', async (t) => {
  const source = await readPrismaMigrations(path.join(FIXTURES, 'app'))
  const names = source.map((m) => m.name)
  const pending = parsePrismaStatus(lines(`${PRISMA_HEAD}Following migrations have not yet been applied:\n${names[3] as string}\n${names[4] as string}\n\nTo apply migrations in development run prisma migrate dev.\nTo apply migrations in production run prisma migrate deploy.\n`))
  t.same(pending, { failed: [], missing: [], pending: [names[3], names[4]] })
  const status = statusFromTool('prisma', pending ?? { failed: [], missing: [] }, source)
  t.same(status.applied.map((m) => m.name), names.slice(0, 3), 'applied: the rest of the folder')
  t.same(status.applied.map((m) => m.checksum), source.slice(0, 3).map((m) => m.checksum))
  t.same(status.pending.map((m) => m.name), names.slice(3))

  const upToDate = parsePrismaStatus(lines(`${PRISMA_HEAD}\nDatabase schema is up to date!\n`))
  t.same(statusFromTool('prisma', upToDate ?? { failed: [], missing: [] }, source).applied.length, 5)
  const one = parsePrismaStatus(lines(`${PRISMA_HEAD}Following migration have not yet been applied:\n${names[4] as string}\n`))
  t.same(one?.pending, [names[4]], 'the singular heading too')

  const failed = parsePrismaStatus(lines(`${PRISMA_HEAD}Following migration have failed:\n${names[2] as string}\n\nDuring development if the failed migration(s) have not been deployed to a production database you can then fix the migration(s) and run prisma migrate dev.\n`))
  const failedStatus = statusFromTool('prisma', failed ?? { failed: [], missing: [] }, source)
  t.same(failedStatus.failed.map((m) => m.name), [names[2]])
  t.same(failedStatus.pending.map((m) => m.name), [names[3], names[4]], 'after a failed one the rest is pending')

  const unmanaged = parsePrismaStatus(lines(`${PRISMA_HEAD}The current database is not managed by Prisma Migrate.\n\nIf you want to keep the current database structure and data and create new migrations, baseline this database with the migration "${names[0] as string}":\n`))
  t.same(statusFromTool('prisma', unmanaged ?? { failed: [], missing: [] }, source).pending.map((m) => m.name), names, 'a new database: everything pending')

  const diverged = parsePrismaStatus(lines(`Your local migration history and the migrations table from your database are different:\n\nThe last common migration is: ${names[1] as string}\n\nThe migrations have not yet been applied:\n${names[2] as string}\n\nThe migration from the database are not found locally in prisma/migrations:\n20240101000000_hotfix\n`))
  t.same(diverged?.missing, ['20240101000000_hotfix'])
  t.same(statusFromTool('prisma', diverged ?? { failed: [], missing: [] }, source).drifted, [{ name: '20240101000000_hotfix', reason: 'missing_from_source', appliedChecksum: '' }])
  t.equal(parsePrismaStatus(lines('Error: P1001: Can\'t reach database server at `localhost:5432`')), undefined, 'an error is not a status')
})

t.test('status_format patterns', async (t) => {
  const parse = patternStatusParser({ applied: '^APPLIED (?<name>\\S+)$', pending: '^PENDING (?<name>\\S+)$' })
  t.same(parse(['APPLIED 001_a', 'noise', 'PENDING 002_b']), { applied: ['001_a'], pending: ['002_b'], failed: [], missing: [] })
})

function runOf (text: string, extra: Partial<ToolRun> = {}): ToolRun {
  return { failed: true, failure: 'tool exited with code 1', exitCode: 1, lines: lines(text).map((line, index) => ({ text: line, atMs: index * 100 })), stderrLines: [], durationMs: 1000, ...extra }
}

t.test('timings and failures from the tools\' apply output', async (t) => {
  const sequelize = toolSpecOf({ preset: 'sequelize', url_env: 'DATABASE_URL', env: {}, pass_env: [], timeout: 1, status_timeout: 1 })
  const output = '== 20250201000000-create-shipments: migrating =======\n== 20250201000000-create-shipments: migrated (0.034s)\n\n== 20250202000000-add-shipment-tracking: migrating =======\n\nERROR: relation "shipment_labels" does not exist'
  t.same([...timingsFrom(runOf(output).lines, sequelize.markers, 1000)], [['20250201000000-create-shipments', 34], ['20250202000000-add-shipment-tracking', 700]], 'sequelize\'s own seconds; an unfinished one runs to the end')
  t.same(failureFrom(runOf(output), sequelize.markers), { name: '20250202000000-add-shipment-tracking', message: 'relation "shipment_labels" does not exist' })

  const typeorm = toolSpecOf({ preset: 'typeorm', url_env: 'DATABASE_URL', env: {}, pass_env: [], timeout: 1, status_timeout: 1 })
  t.same(failureFrom(runOf('query: START TRANSACTION\nMigration "Broken1" failed, error: relation "x" does not exist\nquery: ROLLBACK'), typeorm.markers), { name: 'Broken1', message: 'relation "x" does not exist' })
  t.same([...timingsFrom(runOf('Migration A1 has been executed successfully.\nquery: x\nMigration B2 has been executed successfully.').lines, typeorm.markers, 1000)], [['A1', 0], ['B2', 200]])

  // Prisma's P3018 text, from its error template (not captured: the CLI cannot run offline here).
  const prisma = toolSpecOf({ preset: 'prisma', url_env: 'DATABASE_URL', env: {}, pass_env: [], timeout: 1, status_timeout: 1 })
  const deploy = 'Applying migration `20250201090000_users`\nApplying migration `20250203090000_add_tags`\nError: P3018\n\nA migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\nMigration name: 20250203090000_add_tags\n\nDatabase error code: 42P01\n\nDatabase error:\nERROR: relation "ProjectTag" does not exist\n'
  t.same(failureFrom(runOf(deploy), prisma.markers), { name: '20250203090000_add_tags', message: 'relation "ProjectTag" does not exist' })
  t.same([...timingsFrom(runOf(deploy).lines, prisma.markers, 2000)], [['20250201090000_users', 100], ['20250203090000_add_tags', 1900]], 'Prisma says only "Applying": each lasts until the next starts')

  t.same(failureFrom(runOf('starting', { stderrLines: ['warning: x', 'Error: connect ECONNREFUSED 127.0.0.1:1'] }), { failure: [] }), { message: 'Error: connect ECONNREFUSED 127.0.0.1:1' }, 'unknown tools: the first error line on stderr')
  t.same(failureFrom(runOf('', { lines: [], failure: 'mytool not found at mytool' }), { failure: [] }), { message: 'mytool not found at mytool' })
})
