import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createPgDumpBackup } from '../../src/backup/pg-dump.js'
import { RestoreError } from '../../src/backup/restore-error.js'
import { restorePgDumpBackup } from '../../src/backup/restore.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase, uniqueName } from '../helpers/databases.js'
import { appMigrations, applyMigrations, rowCounts, snapshot } from '../helpers/database-snapshots.js'

const dir = mkdtempSync(path.join(tmpdir(), 'md-restore-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

t.test('a restore returns the database to exactly the backed-up state', async (t) => {
  const db = await createEmptyDatabase('md_restore')
  t.teardown(() => dropDatabase(db))
  const migrations = await appMigrations()

  // The backed-up state: two Prisma migrations (an enum, tables, FKs, history rows), data,
  // extensions, an index that needs one of them, a second schema and a large object.
  await queryDatabase(db, 'CREATE EXTENSION pgcrypto; CREATE EXTENSION pg_trgm')
  await applyMigrations(db, migrations.slice(0, 2))
  await queryDatabase(db, `
    INSERT INTO "User" ("email", "name") VALUES ('ann@example.com', 'Ann'), ('bob@example.com', 'Bob'), ('cy@example.com', NULL);
    INSERT INTO "Team" ("name", "slug") VALUES ('Core', 'core'), ('Ops', 'ops');
    INSERT INTO "Membership" ("userId", "teamId", "role") VALUES (1, 1, 'OWNER'), (2, 1, 'MEMBER'), (2, 2, 'ADMIN');
    INSERT INTO "Post" ("title", "authorId", "content") VALUES ('Hello', 1, encode(digest('hello', 'sha256'), 'hex')), ('Again', 2, NULL);
    CREATE INDEX "User_name_trgm_idx" ON "User" USING gin ("name" gin_trgm_ops);
    CREATE SCHEMA reporting;
    CREATE TABLE reporting.daily ("day" date PRIMARY KEY, "posts" integer NOT NULL);
    INSERT INTO reporting.daily VALUES ('2025-01-01', 2);
    SELECT lo_from_bytea(0, 'kept'::bytea);`)
  const before = await snapshot(db)
  t.equal(before.counts['public._prisma_migrations'], 2)
  t.equal(before.counts['public.User'], 3)

  const backup = await createPgDumpBackup({ databaseUrl: databaseUrl(db), dir, environment: 'production' })

  // Everything a failed deployment (or anyone) might do afterwards.
  await applyMigrations(db, migrations.slice(2, 4)) // a backfilled column, a new enum, Role gains a value
  await queryDatabase(db, `
    CREATE TYPE "Mood" AS ENUM ('HAPPY', 'SAD');
    CREATE TABLE "Comment" ("id" SERIAL PRIMARY KEY, "postId" INTEGER NOT NULL REFERENCES "Post"("id"), "mood" "Mood");
    INSERT INTO "Comment" ("postId", "mood") VALUES (1, 'HAPPY');
    ALTER TABLE "Team" ADD COLUMN "ownerId" INTEGER;
    UPDATE "Team" SET "ownerId" = 1;
    ALTER TABLE "Team" ADD CONSTRAINT "Team_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id");
    ALTER TABLE "User" ADD CONSTRAINT "User_email_check" CHECK ("email" LIKE '%@%');
    INSERT INTO "User" ("email", "name", "displayName") VALUES ('dee@example.com', 'Dee', 'dee');
    DELETE FROM "Membership" WHERE "role" = 'ADMIN';
    UPDATE "Post" SET "title" = 'Changed' WHERE "id" = 1;
    INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count)
         VALUES ('00000000-0000-4000-8000-000000000000', repeat('0', 64), '20990101000000_manual', now(), 1);
    CREATE SCHEMA scratch;
    CREATE TABLE scratch.notes ("id" INTEGER PRIMARY KEY, "body" TEXT);
    INSERT INTO scratch.notes VALUES (1, 'created after the backup');
    DROP TABLE reporting.daily;
    DROP EXTENSION pg_trgm CASCADE;
    CREATE EXTENSION hstore;
    SELECT lo_from_bytea(0, 'new'::bytea);`)
  const changed = await snapshot(db)
  t.not(changed.schema, before.schema, 'the changes show in the schema')

  const result = await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: backup.file as string })
  t.type(result.durationMs, 'number')

  const after = await snapshot(db)
  t.equal(after.schema, before.schema, 'pg_dump -s is identical')
  t.same(after.counts, before.counts, 'row counts are identical')
  t.equal(after.full, before.full, 'the full dump (data and sequence values) is identical')
  const extensions = await queryDatabase<{ extname: string }>(db, 'SELECT extname FROM pg_extension ORDER BY 1')
  t.same(extensions.map((e) => e.extname), ['pg_trgm', 'pgcrypto', 'plpgsql'], 'extensions are back, the new one is gone')
  const [crypto] = await queryDatabase<{ ok: boolean }>(db, "SELECT encode(digest('hello', 'sha256'), 'hex') = (SELECT content FROM \"Post\" WHERE id = 1) AS ok")
  t.equal(crypto?.ok, true, 'pgcrypto works after the restore')
  const largeObjects = await queryDatabase<{ data: Buffer }>(db, 'SELECT lo_get(oid) AS data FROM pg_largeobject_metadata')
  t.same(largeObjects.map((lo) => lo.data.toString()), ['kept'], 'large objects are exactly those of the backup')
  const [publicSchema] = await queryDatabase<{ owner: string, acl: string, comment: string }>(db, `
    SELECT pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl, obj_description(oid, 'pg_namespace') AS comment
      FROM pg_namespace WHERE nspname = 'public'`)
  t.same(publicSchema, { owner: 'pg_database_owner', acl: '{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}', comment: 'standard public schema' },
    'public is recreated as CREATE DATABASE makes it on PostgreSQL 15')

  // Restoring twice is the same as restoring once.
  await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: backup.file as string })
  t.equal((await snapshot(db)).full, before.full, 'a second restore changes nothing')
})

t.test('a restore that fails midway leaves the database untouched', async (t) => {
  const db = await createEmptyDatabase('md_restore')
  t.teardown(() => dropDatabase(db))
  await applyMigrations(db, (await appMigrations()).slice(0, 2))
  // Enough data that pg_restore has streamed well past the prelude (and its held-back tail) when it hits the cut.
  await queryDatabase(db, `INSERT INTO "User" ("email", "name") SELECT 'user' || i || '@example.com', md5(i::text) FROM generate_series(1, 60000) AS i`)
  await queryDatabase(db, `INSERT INTO "Team" ("name", "slug") SELECT md5(i::text), 'team-' || i FROM generate_series(1, 60000) AS i`)
  const backup = await createPgDumpBackup({ databaseUrl: databaseUrl(db), dir, environment: 'production' })

  await queryDatabase(db, `CREATE TABLE "Later" ("id" INTEGER PRIMARY KEY); INSERT INTO "Later" VALUES (1);
    ALTER TABLE "Team" ADD CONSTRAINT "Team_slug_check" CHECK ("slug" <> ''); DELETE FROM "User" WHERE "id" <= 10`)
  const postBackup = await snapshot(db)

  t.test('a truncated dump: pg_restore fails and the restore is rolled back', async (t) => {
    const bytes = readFileSync(backup.file as string)
    const truncated = path.join(dir, 'truncated.dump')
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)))
    const error = await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: truncated }).catch((e: unknown) => e)
    t.ok(error instanceof RestoreError, String(error))
    t.equal((error as RestoreError).code, 'RESTORE_FAILED')
    t.match((error as Error).message, /failed and changed nothing: cannot read .*truncated\.dump: pg_restore exited with code 1: .*pg_restore: error:/s)
    const now = await snapshot(db)
    t.equal(now.full, postBackup.full, 'the database still has its post-backup state')
    t.same(now.counts, postBackup.counts)
  })

  t.test('an SQL error inside the restore rolls everything back', async (t) => {
    // A dump whose objects belong to a role that no longer exists: `ALTER … OWNER TO` fails
    // after the prelude has dropped every schema.
    const role = uniqueName('md_gone')
    const source = await createEmptyDatabase('md_restore')
    t.teardown(() => dropDatabase(source))
    await queryDatabase(source, `CREATE ROLE ${role}; CREATE TABLE owned_by_gone (id int); ALTER TABLE owned_by_gone OWNER TO ${role}`)
    const orphan = await createPgDumpBackup({ databaseUrl: databaseUrl(source), dir, environment: 'production' })
    await queryDatabase(source, `DROP TABLE owned_by_gone; DROP ROLE ${role}`)

    const error = await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: orphan.file as string }).catch((e: unknown) => e)
    t.ok(error instanceof RestoreError, String(error))
    t.match((error as Error).message, new RegExp(`psql exited with code 3: .*role "${role}" does not exist`, 's'))
    t.equal((await snapshot(db)).full, postBackup.full, 'the database still has its post-backup state')
  })

  t.test('a file that is not a dump is refused before anything runs', async (t) => {
    const garbage = path.join(dir, 'garbage.dump')
    writeFileSync(garbage, 'not a dump\n')
    const error = await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: garbage }).catch((e: unknown) => e)
    t.ok(error instanceof RestoreError)
    t.match((error as Error).message, /does not appear to be a valid archive/)
    const missing = await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: path.join(dir, 'missing.dump') }).catch((e: unknown) => e)
    t.match((missing as Error).message, /backup file not found: .*missing\.dump/)
    t.same(await rowCounts(db), postBackup.counts)
  })

  t.ok(statSync(backup.file as string).size > 0)
})
