-- Idempotency-Key on POST /deployments (issue 5): the same key and body from the same token
-- name return the deployment the first request created; keys are kept 24 hours, then removed
-- by the worker's periodic maintenance.
CREATE TABLE "idempotency_keys" (
    "principal"      TEXT NOT NULL,
    "key"            TEXT NOT NULL,
    -- sha256 of the canonical JSON of the validated request body.
    "request_hash"   TEXT NOT NULL,
    "deployment_id"  TEXT NOT NULL REFERENCES "deployments" ("id"),
    "created_at"     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("principal", "key")
);

CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" ("created_at");
