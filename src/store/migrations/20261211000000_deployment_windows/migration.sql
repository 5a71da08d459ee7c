-- Deployment windows (SPEC §15): an approved deployment outside its environment's window waits in
-- `waiting_for_window` until `next_window_at`; an admin's break-glass override is kept with it.
ALTER TABLE "deployments" DROP CONSTRAINT "deployments_status_check";
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_status_check"
    CHECK ("status" IN ('queued', 'running', 'pending_approval', 'waiting_for_window', 'succeeded', 'failed', 'rejected', 'cancelled', 'expired'));
ALTER TABLE "deployments" ADD COLUMN "next_window_at" TIMESTAMPTZ, ADD COLUMN "window_override" JSONB;

DROP INDEX "deployments_unfinished_idx";
CREATE INDEX "deployments_unfinished_idx" ON "deployments" ("status") WHERE "status" IN ('queued', 'running', 'pending_approval', 'waiting_for_window');

-- Webhooks for the two new moments: a deployment starts waiting for its window, and an admin
-- overrides the window (`window.overridden`, with the reason in the event).
CREATE OR REPLACE FUNCTION "deployment_notifications_enqueue"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    notification_kind TEXT;
BEGIN
    IF NEW."deployment_id" IS NULL THEN
        RETURN NULL;
    END IF;
    IF NEW."type" IN ('rejected', 'cancelled') THEN
        notification_kind := NEW."type";
    ELSIF NEW."type" = 'window_overridden' THEN
        notification_kind := 'window.overridden';
    ELSIF NEW."type" = 'status_changed' AND NEW."data" ->> 'to' IN ('pending_approval', 'waiting_for_window', 'succeeded', 'failed', 'rejected', 'cancelled', 'expired') THEN
        notification_kind := NEW."data" ->> 'to';
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO "deployment_notifications" ("event_id", "deployment_id", "kind")
        VALUES (NEW."id", NEW."deployment_id", notification_kind)
        ON CONFLICT ("deployment_id", "kind") DO NOTHING;
    PERFORM pg_notify('deployment_notifications', '');
    RETURN NULL;
END
$$;
