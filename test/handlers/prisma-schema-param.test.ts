import path from 'node:path'
import t from 'tap'
import { TargetUrlError } from '../../src/errors/index.js'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { connectTarget } from '../../src/lib/target-connection.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { appMigrations, pgDumpText } from '../helpers/database-snapshots.js'
import { FIXTURES } from '../helpers/harness.js'
import { applyInto as apply, historyIn, schemaCount, tablesIn, urlWithSchema } from '../helpers/schema-databases.js'

/**
 * Prisma's `?schema=` on real PostgreSQL, through the Prisma handler: history and unqualified
 * names in that schema (created when missing), `public` untouched, schema names that need
 * quoting. Backups of such a database: test/backup/schema-backup.test.ts; the same against the
 * real Prisma CLI: test/handlers/prisma6-schema-interop.test.ts.
 */

t.test('apply with ?schema= creates the schema and keeps the history and every unqualified name in it; public and its own history untouched', async (t) => {
  const db = await createEmptyDatabase('md_schema_apply')
  t.teardown(() => dropDatabase(db))
  const app = await appMigrations()
  const appNext = await prismaHandler.readSource(path.join(FIXTURES, 'app-next'))
  // public holds another application's Prisma history: the schema's must never be mixed with it.
  await apply(databaseUrl(db), app.slice(0, 2))
  const publicBefore = await pgDumpText(db, ['--schema=public'])

  const schema = 'Tenant A-1'
  const url = urlWithSchema(db, schema)
  t.match(url, /\?schema=Tenant\+A-1$/, 'the test URL form-encodes the space')
  await apply(url, appNext)

  const history = await historyIn(db, schema)
  t.same(history.map((row) => row.migration_name), appNext.map((m) => m.name), 'the history is in the schema, in order')
  t.same(history.map((row) => row.checksum), appNext.map((m) => m.checksum), 'with the files\' checksums')
  t.ok(history.every((row) => row.applied_steps_count === 1))
  t.same(await tablesIn(db, schema), ['AuditLog', 'Membership', 'Post', 'Team', 'User', 'UserProfile', '_prisma_migrations'],
    'every unqualified name landed in the schema')
  const enums = await queryDatabase<{ name: string }>(db,
    `SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typtype = 'e' ORDER BY 1`, [schema])
  t.same(enums.map((e) => e.name), ['PostStatus', 'Role'], 'types too')
  t.equal(await pgDumpText(db, ['--schema=public']), publicBefore, 'public is exactly as it was')

  const inSchema = await prismaHandler.status(url, appNext)
  t.equal(inSchema.applied.length, 6)
  t.same([inSchema.pending.length, inSchema.failed.length, inSchema.drifted.length], [0, 0, 0], 'status through the same URL: up to date')
  const inPublic = await prismaHandler.status(databaseUrl(db), app)
  t.same(inPublic.applied.map((m) => m.name), app.slice(0, 2).map((m) => m.name), 'status without the parameter reads public\'s own history')

  const client = await connectTarget(url)
  t.teardown(() => client.end())
  const { rows } = await client.query<{ search_path: string }>('SHOW search_path')
  t.equal(rows[0]?.search_path, '"Tenant A-1"', 'the connection\'s search path is the quoted schema, as Prisma sets it')

  const absent = urlWithSchema(db, 'Not Yet')
  const none = await prismaHandler.status(absent, app)
  t.same([none.historyTableExists, none.applied.length, none.pending.length], [false, 0, 5], 'a missing schema reads as a database without history')
  t.equal(await schemaCount(db, 'Not Yet'), 0, 'status only reads: it does not create the schema')
})

t.test('resolve in a ?schema= database creates the schema and records the row there', async (t) => {
  const db = await createEmptyDatabase('md_schema_resolve')
  t.teardown(() => dropDatabase(db))
  const app = await appMigrations()
  const url = `${databaseUrl(db)}?schema=MixedCase%20Resolve`
  const target = await prismaHandler.lock(url, { waitMs: 10_000 })
  try {
    t.same(await target.resolve(app[0]?.name as string, 'applied', app), { rowsChanged: 1 })
  } finally {
    await target.release()
  }
  t.same((await historyIn(db, 'MixedCase Resolve')).map((r) => r.migration_name), [app[0]?.name])
  t.same(await tablesIn(db, 'public'), [], 'nothing in public')
})

t.test('a schema Prisma cannot use is refused before anything connects, naming the fix', async (t) => {
  const error = await connectTarget(`${databaseUrl('postgres')}?schema=a%22b`).catch((e: unknown) => e)
  t.ok(error instanceof TargetUrlError, String(error))
  t.match((error as Error).message, /double quote/)
})
