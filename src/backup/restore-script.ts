import type { Readable } from 'node:stream'

/**
 * Sent to psql before pg_restore's SQL, in the same transaction: empties the database of
 * everything a schema-less dump can recreate, so the restore also removes what was created after
 * the backup (tables, types, schemas, constraints added to existing tables).
 *
 * - Event triggers go first, so none fires while the rest is dropped.
 * - Every schema but the system ones is dropped with CASCADE; temp schemas belong to other sessions.
 * - Extensions left over (those installed into pg_catalog) are dropped too, except the built-in
 *   ones (oid below 16384, e.g. plpgsql): pg_dump recreates exactly the others.
 * - Publications and large objects live outside schemas; pg_dump dumps both.
 * - `public` is recreated as CREATE DATABASE makes it, because pg_dump writes nothing for a
 *   default `public` and only the differences (owner, ACL, comment) for a changed one. On
 *   PostgreSQL 15+ that is owned by pg_database_owner with USAGE for PUBLIC; before 15, owned by
 *   the bootstrap superuser with ALL for PUBLIC.
 *
 * Everything is schema-qualified because the restoring role's search_path is not ours to trust.
 */
export const RESTORE_PRELUDE = `BEGIN;
SET LOCAL client_min_messages = error;
SET LOCAL statement_timeout = 0;
DO $migration_deployer_restore$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT evtname FROM pg_catalog.pg_event_trigger LOOP
        EXECUTE pg_catalog.format('DROP EVENT TRIGGER IF EXISTS %I CASCADE', item.evtname);
    END LOOP;
    FOR item IN SELECT nspname FROM pg_catalog.pg_namespace
                 WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                   AND nspname !~ '^pg_temp_' AND nspname !~ '^pg_toast_temp_' LOOP
        EXECUTE pg_catalog.format('DROP SCHEMA IF EXISTS %I CASCADE', item.nspname);
    END LOOP;
    FOR item IN SELECT extname FROM pg_catalog.pg_extension WHERE oid >= 16384 LOOP
        EXECUTE pg_catalog.format('DROP EXTENSION IF EXISTS %I CASCADE', item.extname);
    END LOOP;
    FOR item IN SELECT pubname FROM pg_catalog.pg_publication LOOP
        EXECUTE pg_catalog.format('DROP PUBLICATION IF EXISTS %I', item.pubname);
    END LOOP;
    PERFORM pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;
    IF pg_catalog.current_setting('server_version_num')::int >= 150000 THEN
        CREATE SCHEMA public AUTHORIZATION pg_database_owner;
        GRANT USAGE ON SCHEMA public TO PUBLIC;
    ELSE
        EXECUTE pg_catalog.format('CREATE SCHEMA public AUTHORIZATION %I', (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10));
        GRANT ALL ON SCHEMA public TO PUBLIC;
    END IF;
    COMMENT ON SCHEMA public IS 'standard public schema';
END
$migration_deployer_restore$;
`

/**
 * Sent after pg_restore's SQL, only once pg_restore has exited 0. pg_restore's own COMMIT (it runs
 * with --single-transaction, which also keeps large objects out of transactions of their own)
 * normally commits; this one makes sure the restore never ends with the transaction left open
 * and silently rolled back. A COMMIT with no transaction open is only a warning, hidden here.
 */
export const RESTORE_EPILOGUE = `
SET client_min_messages = error;
COMMIT;
`

// pg_restore's COMMIT sits within its last few hundred bytes; holding back far more than that
// guarantees psql cannot commit before pg_restore has exited successfully.
const HELD_BACK_BYTES = 64 * 1024

/**
 * The whole script psql reads: the prelude (RESTORE_PRELUDE, or schemaRestorePrelude for a
 * one-schema dump), pg_restore's SQL as it streams, then the epilogue.
 * The last 64 KiB of pg_restore's output (which hold its COMMIT) are released only after
 * `pgRestoreSucceeded` resolves true; otherwise `onPgRestoreFailed` runs (it must stop psql
 * before its input ends) and the generator throws, so nothing is committed.
 */
export async function * restoreScript (
  prelude: string, sql: Readable, pgRestoreSucceeded: Promise<boolean>, onPgRestoreFailed: () => void
): AsyncGenerator<Buffer> {
  yield Buffer.from(prelude)
  let held = Buffer.alloc(0)
  for await (const chunk of sql) {
    held = Buffer.concat([held, chunk as Buffer])
    if (held.length > 2 * HELD_BACK_BYTES) {
      yield held.subarray(0, held.length - HELD_BACK_BYTES)
      held = Buffer.from(held.subarray(held.length - HELD_BACK_BYTES))
    }
  }
  if (!await pgRestoreSucceeded) {
    onPgRestoreFailed()
    throw new Error('pg_restore failed')
  }
  yield held
  yield Buffer.from(RESTORE_EPILOGUE)
}
