-- A fleet deployment (SPEC §14) applies the same migration to many targets: the record of what
-- was applied holds one row per migration per target, named by the target (never its URL).
-- '' is the environment's own database: a deployment that is not a fleet's.
ALTER TABLE "applied_migrations" ADD COLUMN "target" TEXT NOT NULL DEFAULT '';
ALTER TABLE "applied_migrations" DROP CONSTRAINT "applied_migrations_pkey";
ALTER TABLE "applied_migrations" ADD PRIMARY KEY ("deployment_id", "target", "migration_name");
