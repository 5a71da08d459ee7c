-- The role migration-deployer's processes connect to the control database as (DATABASE_URL),
-- with only the privileges they need (README, Operations, "Least privilege").
--
-- Run it in the control database, after `migration-deployer migrate`, as the role that owns the
-- control schema (the one that ran the migrations; not the role created here):
--
--   migration-deployer migrate                                     # DATABASE_URL = the owner's
--   psql "$OWNER_DATABASE_URL" -v role=migration_deployer_app -f ops/control-db-role.sql
--   psql "$OWNER_DATABASE_URL" -c '\password migration_deployer_app'
--
-- `-v role=` is optional (default migration_deployer_app). Running it again is harmless; run it
-- again after an upgrade whose migrations add a table. The role gets:
--   * no ownership: it cannot ALTER or DROP any table, trigger or function, nor create any;
--   * the audit trail (deployment_events): INSERT and SELECT only. No UPDATE, DELETE or TRUNCATE,
--     and since it does not own the table it cannot drop or disable the append-only triggers;
--   * the other tables: what the service does with them, nothing more.
\set ON_ERROR_STOP on
\if :{?role}
\else
  \set role migration_deployer_app
\endif

SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec
GRANT USAGE ON SCHEMA public TO :"role";
-- The control database is the service's own: nobody but its owner creates objects in it
-- (PostgreSQL 15 and later already grant PUBLIC no CREATE on the public schema).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The control schema's migration history: read at start to check the schema is up to date.
GRANT SELECT ON "_prisma_migrations" TO :"role";

-- Deployments are created and move through their states; never deleted.
GRANT SELECT, INSERT, UPDATE ON "deployments" TO :"role";
GRANT USAGE ON SEQUENCE "deployment_apply_ticket_seq" TO :"role";

-- The audit trail and human log: append and read, nothing else.
GRANT SELECT, INSERT ON "deployment_events" TO :"role";
GRANT USAGE ON SEQUENCE "deployment_events_id_seq" TO :"role";

-- Approvals and the record of applied migrations: append and read.
GRANT SELECT, INSERT ON "approvals" TO :"role";
GRANT SELECT, INSERT ON "applied_migrations" TO :"role";

-- Backups: recorded, then marked verified or deleted when pruned (the row stays).
GRANT SELECT, INSERT, UPDATE ON "backups" TO :"role";

-- Idempotency keys: expired ones are deleted.
GRANT SELECT, INSERT, DELETE ON "idempotency_keys" TO :"role";

-- The webhook outbox: written by a trigger on deployment_events (as this role), marked
-- dispatched, and pruned after notifications.outbox_retention.
GRANT SELECT, INSERT, UPDATE, DELETE ON "deployment_notifications" TO :"role";

-- Drift watch (SPEC §15): the state per environment, and the checks' history.
GRANT SELECT, INSERT, UPDATE, DELETE ON "environment_drift" TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON "drift_checks" TO :"role";
GRANT USAGE ON SEQUENCE "drift_checks_id_seq" TO :"role";

-- Fleets (SPEC §14): one row per target of a fleet deployment, and the retries that link deployments.
GRANT SELECT, INSERT, UPDATE ON "fleet_targets" TO :"role";
GRANT SELECT, INSERT ON "fleet_retries" TO :"role";
