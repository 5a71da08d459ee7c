-- Drift watch (SPEC §15): per environment, the schema fingerprint the last deployment left (the
-- baseline), the drift state now, and the history of every check.
CREATE TABLE "environment_drift" (
    "environment"            TEXT PRIMARY KEY,
    "baseline_fingerprint"   TEXT,
    "baseline_objects"       JSONB,
    "baseline_deployment_id" TEXT,
    "baseline_at"            TIMESTAMPTZ,
    "state"                  TEXT NOT NULL DEFAULT 'unknown' CHECK ("state" IN ('unknown', 'clean', 'drifted')),
    "drift_fingerprint"      TEXT,
    "changes"                JSONB NOT NULL DEFAULT '[]',
    "detected_at"            TIMESTAMPTZ,
    "checked_at"             TIMESTAMPTZ
);

CREATE TABLE "drift_checks" (
    "id"          BIGSERIAL PRIMARY KEY,
    "environment" TEXT NOT NULL,
    "checked_at"  TIMESTAMPTZ NOT NULL DEFAULT now(),
    "outcome"     TEXT NOT NULL CHECK ("outcome" IN ('clean', 'drifted', 'no_baseline', 'skipped', 'error')),
    "fingerprint" TEXT,
    "changes"     JSONB NOT NULL DEFAULT '[]',
    "duration_ms" INTEGER,
    "detail"      TEXT
);

CREATE INDEX "drift_checks_environment_idx" ON "drift_checks" ("environment", "checked_at" DESC);
