-- Backups taken before deployments (SPEC §9): one row per backup, kept after the file is pruned.

CREATE TABLE "backups" (
    -- The backup id of the report: backup-YYYYMMDD-HHMMSS-xxxx.
    "id"              TEXT PRIMARY KEY,
    "environment"     TEXT NOT NULL,
    -- The deployment that took it; null for a backup taken outside a deployment.
    "deployment_id"   TEXT REFERENCES "deployments" ("id"),
    "provider"        TEXT NOT NULL,
    -- Absolute path of the dump; null for the command provider, whose tool keeps its own.
    "file"            TEXT,
    "size_bytes"      BIGINT,
    "duration_ms"     INTEGER NOT NULL,
    -- Whether pg_restore --list read the dump back.
    "verified"        BOOLEAN NOT NULL DEFAULT false,
    "server_version"  TEXT,
    "created_at"      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when pruning deleted the file; the row stays for the audit trail.
    "deleted_at"      TIMESTAMPTZ,
    CONSTRAINT "backups_provider_check" CHECK ("provider" IN ('pg_dump', 'command'))
);

CREATE INDEX "backups_environment_created_idx" ON "backups" ("environment", "created_at" DESC, "id" DESC);
