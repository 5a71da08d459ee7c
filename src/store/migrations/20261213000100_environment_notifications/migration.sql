-- Environment-level moments go through the same durable outbox as a deployment's (SPEC §15): the
-- drift watch's `drift.detected` and `drift.resolved` events name an environment, not a deployment,
-- and reach the webhooks subscribed to them with the same signing and retries. One row per event
-- (its primary key): the drift watch writes one event per new drift, so one webhook per new drift.
ALTER TABLE "deployment_notifications" ALTER COLUMN "deployment_id" DROP NOT NULL;
ALTER TABLE "deployment_notifications" ADD COLUMN "environment" TEXT;
ALTER TABLE "deployment_notifications" ADD CONSTRAINT "deployment_notifications_subject_check"
    CHECK ("deployment_id" IS NOT NULL OR "environment" IS NOT NULL);

CREATE OR REPLACE FUNCTION "deployment_notifications_enqueue"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    notification_kind TEXT;
BEGIN
    IF NEW."deployment_id" IS NULL THEN
        IF NEW."environment" IS NOT NULL AND NEW."type" IN ('drift.detected', 'drift.resolved') THEN
            INSERT INTO "deployment_notifications" ("event_id", "environment", "kind") VALUES (NEW."id", NEW."environment", NEW."type");
            PERFORM pg_notify('deployment_notifications', '');
        END IF;
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
