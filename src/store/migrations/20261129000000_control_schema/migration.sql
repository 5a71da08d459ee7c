-- The control database: the source of truth for deployments. BullMQ only carries ids.

CREATE TABLE "deployments" (
    "id"                 TEXT PRIMARY KEY,
    "operation"          TEXT NOT NULL,
    "environment"        TEXT NOT NULL,
    "mode"               TEXT NOT NULL,
    "status"             TEXT NOT NULL,
    -- Which phase the worker runs next for a queued deployment: plan, then (after approval) apply.
    "phase"              TEXT NOT NULL DEFAULT 'plan',
    "requested_by"       TEXT NOT NULL,
    "dry_run"            BOOLEAN NOT NULL DEFAULT false,
    "skip_backup"        BOOLEAN NOT NULL DEFAULT false,
    "skip_health_check"  BOOLEAN NOT NULL DEFAULT false,
    "working_directory"  TEXT,
    "source"             JSONB,
    -- Uploaded migrations (name, sql, checksum): exactly the bytes that may be approved and applied.
    "inline_migrations"  JSONB,
    -- Name and checksum of every source migration at plan time, for the stale check.
    "source_snapshot"    JSONB,
    "plan"               JSONB,
    "approvals_required" INTEGER NOT NULL DEFAULT 0,
    "expires_at"         TIMESTAMPTZ,
    "steps"              JSONB NOT NULL DEFAULT '[]',
    "report"             JSONB,
    "created_at"         TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at"         TIMESTAMPTZ NOT NULL DEFAULT now(),
    "started_at"         TIMESTAMPTZ,
    "finished_at"        TIMESTAMPTZ,
    CONSTRAINT "deployments_status_check" CHECK ("status" IN ('queued', 'running', 'pending_approval', 'succeeded', 'failed', 'rejected', 'cancelled', 'expired')),
    CONSTRAINT "deployments_phase_check" CHECK ("phase" IN ('plan', 'apply'))
);

CREATE INDEX "deployments_created_idx" ON "deployments" ("created_at" DESC, "id" DESC);
CREATE INDEX "deployments_environment_created_idx" ON "deployments" ("environment", "created_at" DESC, "id" DESC);
CREATE INDEX "deployments_unfinished_idx" ON "deployments" ("status") WHERE "status" IN ('queued', 'running', 'pending_approval');

-- The audit trail and the human log: append-only, enforced by a trigger.
CREATE TABLE "deployment_events" (
    "id"             BIGSERIAL PRIMARY KEY,
    "deployment_id"  TEXT NOT NULL REFERENCES "deployments" ("id"),
    "type"           TEXT NOT NULL,
    "actor"          TEXT,
    -- The line this event adds to the human log, if any.
    "message"        TEXT,
    "data"           JSONB,
    "created_at"     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX "deployment_events_deployment_idx" ON "deployment_events" ("deployment_id", "id");

CREATE FUNCTION "deployment_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deployment_events is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER "deployment_events_no_update_or_delete"
    BEFORE UPDATE OR DELETE ON "deployment_events"
    FOR EACH ROW EXECUTE FUNCTION "deployment_events_append_only"();

CREATE TRIGGER "deployment_events_no_truncate"
    BEFORE TRUNCATE ON "deployment_events"
    FOR EACH STATEMENT EXECUTE FUNCTION "deployment_events_append_only"();

CREATE TABLE "approvals" (
    "deployment_id"  TEXT NOT NULL REFERENCES "deployments" ("id"),
    "approver"       TEXT NOT NULL,
    "comment"        TEXT,
    -- The plan.checksum this approval was given for.
    "plan_checksum"  TEXT NOT NULL,
    "created_at"     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("deployment_id", "approver")
);
