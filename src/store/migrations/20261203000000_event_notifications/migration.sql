-- Live delivery of events: every new event of a deployment wakes the API processes that stream
-- it (GET /deployments/:id/events as Server-Sent Events). One LISTEN connection per process fans
-- out; NOTIFY is delivered on commit, so a listener never sees a row it cannot read yet.
CREATE FUNCTION "deployment_events_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."deployment_id" IS NOT NULL THEN
        PERFORM pg_notify('deployment_events', NEW."deployment_id");
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "deployment_events_notify"
    AFTER INSERT ON "deployment_events"
    FOR EACH ROW EXECUTE FUNCTION "deployment_events_notify"();

-- A transactional outbox of the moments that notify the outside world (webhooks) and feed the
-- worker's metrics: written by the same transaction as the event, so none is lost or invented.
-- One row per deployment and kind: a deployment reaches each of these states at most once.
CREATE TABLE "deployment_notifications" (
    "event_id"       BIGINT PRIMARY KEY REFERENCES "deployment_events" ("id"),
    "deployment_id"  TEXT NOT NULL REFERENCES "deployments" ("id"),
    "kind"           TEXT NOT NULL,
    "created_at"     TIMESTAMPTZ NOT NULL DEFAULT now(),
    "dispatched_at"  TIMESTAMPTZ,
    CONSTRAINT "deployment_notifications_once" UNIQUE ("deployment_id", "kind")
);

CREATE INDEX "deployment_notifications_undispatched_idx" ON "deployment_notifications" ("event_id") WHERE "dispatched_at" IS NULL;

CREATE FUNCTION "deployment_notifications_enqueue"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    notification_kind TEXT;
BEGIN
    IF NEW."deployment_id" IS NULL THEN
        RETURN NULL;
    END IF;
    IF NEW."type" IN ('rejected', 'cancelled') THEN
        notification_kind := NEW."type";
    ELSIF NEW."type" = 'status_changed' AND NEW."data" ->> 'to' IN ('pending_approval', 'succeeded', 'failed', 'rejected', 'cancelled', 'expired') THEN
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

CREATE TRIGGER "deployment_notifications_enqueue"
    AFTER INSERT ON "deployment_events"
    FOR EACH ROW EXECUTE FUNCTION "deployment_notifications_enqueue"();
