-- Fleets (SPEC §14): one deployment, many target databases. One row per target of a fleet
-- deployment, written once by its plan (all rows in one statement) and then once or twice per
-- target by the rollout. Targets are named, never located: their URLs are never stored.
CREATE TABLE "fleet_targets" (
    "deployment_id"      TEXT NOT NULL REFERENCES "deployments" ("id"),
    "name"               TEXT NOT NULL,
    "position"           INTEGER NOT NULL,
    -- The index of the target's history-state group in the deployment's plan.groups.
    "group_index"        INTEGER,
    "status"             TEXT NOT NULL DEFAULT 'pending',
    "migrations_applied" INTEGER NOT NULL DEFAULT 0,
    "error"              TEXT,
    "report"             JSONB,
    "started_at"         TIMESTAMPTZ,
    "finished_at"        TIMESTAMPTZ,
    PRIMARY KEY ("deployment_id", "name"),
    CONSTRAINT "fleet_targets_status" CHECK ("status" IN ('pending', 'running', 'succeeded', 'failed', 'skipped'))
);

CREATE UNIQUE INDEX "fleet_targets_position_idx" ON "fleet_targets" ("deployment_id", "position");
CREATE INDEX "fleet_targets_status_idx" ON "fleet_targets" ("deployment_id", "status", "position");

-- A retry (POST /deployments/:id/retry) names the deployment it retries and the targets it covers.
CREATE TABLE "fleet_retries" (
    "deployment_id" TEXT PRIMARY KEY REFERENCES "deployments" ("id"),
    "retry_of"      TEXT NOT NULL REFERENCES "deployments" ("id"),
    "targets"       TEXT[] NOT NULL
);

-- A fleet's backups are per target: a resumed target keeps its own, never another target's.
ALTER TABLE "backups" ADD COLUMN "target" TEXT;
