-- A deployment's `created` event no longer wakes the event streams. Nobody can be streaming a
-- deployment before the transaction that creates it commits (its id is not known until then), and
-- a stream opened afterwards reads the event from the table. The cost it saves is large:
-- PostgreSQL serializes the commits of every transaction that has sent a NOTIFY (a database-wide
-- lock held through the commit's WAL flush), so with it every POST /deployments waited for the
-- flush of the one before instead of sharing one (group commit).
CREATE OR REPLACE FUNCTION "deployment_events_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."deployment_id" IS NOT NULL AND NEW."type" <> 'created' THEN
        PERFORM pg_notify('deployment_events', NEW."deployment_id");
    END IF;
    RETURN NULL;
END
$$;
