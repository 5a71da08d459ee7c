import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import t from 'tap'
import { BackupError } from '../../src/backup/backup-error.js'
import { createPgDumpBackup } from '../../src/backup/pg-dump.js'
import { resetDatabase } from '../../src/backup/reset-database.js'
import { RestoreError } from '../../src/backup/restore-error.js'
import { restorePgDumpBackup } from '../../src/backup/restore.js'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { connectTarget } from '../../src/lib/target-connection.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'
import { appMigrations, pgDumpText } from '../helpers/database-snapshots.js'
import { FIXTURES } from '../helpers/harness.js'
import { applyInto as apply, historyIn, schemaCount, schemaDump, tablesIn, urlWithSchema } from '../helpers/schema-databases.js'

/**
 * Backups of a database whose URL carries Prisma's `?schema=` (other than public): pg_dump of
 * exactly that schema (its extensions included), restores and dev resets that drop and recreate
 * only it, refusing when something outside depends on it. Real PostgreSQL, real pg_dump and psql.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'md-schema-backup-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

t.test('the backup tools never see the parameter: pg_dump gets --schema and the connection in its environment only', async (t) => {
  const db = await createEmptyDatabase('md_param_argv')
  t.teardown(() => dropDatabase(db))
  const url = new URL(urlWithSchema(db, 'Tenant B'))
  url.searchParams.set('sslmode', 'disable')
  const record = path.join(dir, 'pg_dump-record')
  const fake = path.join(dir, 'recording-pg_dump')
  // Records what it was given, then runs the real pg_dump with it.
  writeFileSync(fake, [
    '#!/bin/sh',
    `if [ "$1" != "--version" ]; then printf '%s\\n' "$@" > ${record}.argv; env | grep '^PG' | sort > ${record}.env; fi`,
    'exec pg_dump "$@"',
    ''
  ].join('\n'))
  chmodSync(fake, 0o755)

  const backup = await createPgDumpBackup({ databaseUrl: url.toString(), dir, environment: 'argv', pgDumpPath: fake })
  t.equal(backup.schema, 'Tenant B')
  const argv = readFileSync(`${record}.argv`, 'utf8').trim().split('\n')
  t.same(argv.slice(0, 3), ['--format=custom', '--no-password', '--schema="Tenant B"'], 'the schema as an exact (quoted) pattern')
  t.match(argv[3], /^--file=/)
  t.equal(argv.length, 4)
  const password = decodeURIComponent(url.password)
  for (const arg of argv) t.notMatch(arg, password)
  const env = readFileSync(`${record}.env`, 'utf8')
  t.match(env, new RegExp(`^PGDATABASE=${db}$`, 'm'), 'the database name without any query')
  t.match(env, /^PGSSLMODE=disable$/m, 'other parameters still reach libpq')
  t.notMatch(env, /schema|Tenant/i, 'no libpq variable carries the schema')
})

t.test('backup + restore of a ?schema= database returns that schema to the backed-up state and leaves public alone', async (t) => {
  const db = await createEmptyDatabase('md_schema_restore')
  t.teardown(() => dropDatabase(db))
  const app = await appMigrations()
  const appNext = await prismaHandler.readSource(path.join(FIXTURES, 'app-next'))
  const schema = 'Billing Ops'
  const url = urlWithSchema(db, schema)
  await apply(databaseUrl(db), app.slice(0, 1))
  await queryDatabase(db, `INSERT INTO public."User" ("email") VALUES ('public@example.com')`)
  await apply(url, app)
  const tenant = await connectTarget(url)
  // Unqualified, as an application on this URL would write it; the extension lands in the schema.
  await tenant.query(`INSERT INTO "User" ("email", "displayName") VALUES ('ann@example.com', 'ann');
    CREATE EXTENSION pg_trgm;
    CREATE INDEX "User_email_trgm" ON "User" USING gin ("email" gin_trgm_ops)`)
  await tenant.end()
  const before = await schemaDump(db, schema)

  const backup = await createPgDumpBackup({ databaseUrl: url, dir, environment: 'tenant' })
  t.equal(backup.schema, schema, 'the result says which schema the dump holds')
  const { stdout: toc } = await execa('pg_restore', ['--list', backup.file as string])
  t.match(toc, /SCHEMA - Billing Ops postgres/)
  t.match(toc, /EXTENSION - pg_trgm/, 'the extension installed in the schema is in the dump')
  t.notMatch(toc, / public /, 'nothing of public is in the dump')

  // After the backup: a new migration, data, a column, a table; and public changes too.
  await apply(url, appNext.slice(5))
  const later = await connectTarget(url)
  await later.query(`INSERT INTO "User" ("email", "displayName") VALUES ('bob@example.com', 'bob');
    ALTER TABLE "User" ADD COLUMN "later" int;
    CREATE TABLE "Later" (id int);
    DROP EXTENSION pg_trgm CASCADE`)
  await later.end()
  await queryDatabase(db, `INSERT INTO public."User" ("email") VALUES ('public-later@example.com'); CREATE TABLE public.after_backup (id int)`)
  const publicAfter = await pgDumpText(db, ['--schema=public'])
  t.not(await schemaDump(db, schema), before)

  await restorePgDumpBackup({ databaseUrl: url, file: backup.file as string, schema: backup.schema })
  t.equal(await schemaDump(db, schema), before, 'the schema is exactly as backed up: definitions, data, history, the extension')
  t.equal((await historyIn(db, schema)).length, 5)
  t.equal(await pgDumpText(db, ['--schema=public']), publicAfter, 'public keeps what happened after the backup')

  // Something outside now depends on the schema: the restore would drop it with the schema, so it refuses.
  await queryDatabase(db, `CREATE VIEW public.tenant_users AS SELECT "email" FROM "Billing Ops"."User"`)
  await queryDatabase(db, `INSERT INTO "Billing Ops"."User" ("email", "displayName") VALUES ('cy@example.com', 'cy')`)
  const changed = await schemaDump(db, schema)
  const error = await restorePgDumpBackup({ databaseUrl: url, file: backup.file as string, schema: backup.schema }).catch((e: unknown) => e)
  t.ok(error instanceof RestoreError, String(error))
  t.match((error as Error).message,
    /schema "Billing Ops" cannot be restored on its own: objects outside it depend on it and would be dropped with it: view public\.tenant_users/)
  t.match((error as Error).message, /failed and changed nothing/)
  t.equal(await schemaDump(db, schema), changed, 'nothing was restored')
  t.equal((await queryDatabase(db, 'SELECT count(*)::int AS n FROM public.tenant_users'))[0]?.n, 2, 'the view is still there')
})

t.test('a backup of a schema that does not exist yet creates it, as Prisma would; restoring that backup empties it again', async (t) => {
  const db = await createEmptyDatabase('md_schema_new')
  t.teardown(() => dropDatabase(db))
  const url = urlWithSchema(db, 'brand-new')
  const backup = await createPgDumpBackup({ databaseUrl: url, dir, environment: 'new' })
  t.same(await tablesIn(db, 'brand-new'), [])
  t.equal(await schemaCount(db, 'brand-new'), 1, 'the schema exists now')
  await apply(url, await appMigrations())
  t.equal((await tablesIn(db, 'brand-new')).length, 6)
  await restorePgDumpBackup({ databaseUrl: url, file: backup.file as string })
  t.same(await tablesIn(db, 'brand-new'), [], 'back to the empty schema (the schema taken from the URL when not given)')
})

t.test('a dev reset of a ?schema= database empties that schema only', async (t) => {
  const db = await createEmptyDatabase('md_schema_reset')
  t.teardown(() => dropDatabase(db))
  const app = await appMigrations()
  await apply(databaseUrl(db), app.slice(0, 1))
  const url = urlWithSchema(db, 'Dev Tenant')
  await apply(url, app)
  const publicBefore = await pgDumpText(db, ['--schema=public'])
  await resetDatabase(url)
  t.same(await tablesIn(db, 'Dev Tenant'), [], 'the schema is empty')
  t.equal(await schemaCount(db, 'Dev Tenant'), 1, 'and exists, as after prisma migrate reset')
  t.equal(await pgDumpText(db, ['--schema=public']), publicBefore, 'public untouched')
})

t.test('a schema Prisma cannot use fails the backup before anything runs, naming the fix', async (t) => {
  const error = await createPgDumpBackup({ databaseUrl: `${databaseUrl('postgres')}?schema=a%22b`, dir, environment: 'bad' }).catch((e: unknown) => e)
  t.ok(error instanceof BackupError, String(error))
  t.match((error as Error).message, /double quote/)
})
