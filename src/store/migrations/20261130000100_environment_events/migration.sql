-- Environment-level actions (resolving a failed migration, restoring a backup outside a
-- deployment) belong in the same append-only audit trail, so events may name an environment
-- instead of a deployment.
ALTER TABLE "deployment_events" ALTER COLUMN "deployment_id" DROP NOT NULL;
ALTER TABLE "deployment_events" ADD COLUMN "environment" TEXT;
ALTER TABLE "deployment_events" ADD CONSTRAINT "deployment_events_subject_check" CHECK ("deployment_id" IS NOT NULL OR "environment" IS NOT NULL);
CREATE INDEX "deployment_events_environment_idx" ON "deployment_events" ("environment", "id") WHERE "environment" IS NOT NULL;

-- Every migration applied by a deployment, with its checksum and duration: the promotion gate
-- (same checksums applied in staging first) and duration estimates read this.
CREATE TABLE "applied_migrations" (
    "environment"    TEXT NOT NULL,
    "migration_name" TEXT NOT NULL,
    "checksum"       TEXT NOT NULL,
    "duration_ms"    INTEGER NOT NULL,
    "deployment_id"  TEXT NOT NULL REFERENCES "deployments" ("id"),
    "applied_at"     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("deployment_id", "migration_name")
);

CREATE INDEX "applied_migrations_checksum_idx" ON "applied_migrations" ("checksum", "environment");
