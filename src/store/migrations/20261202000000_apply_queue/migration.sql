-- The order in which deployments of one environment take their turn to apply (issue 5):
-- a ticket from a sequence, taken when the deployment is created (unprotected environments
-- apply in request order) and taken again when it is approved (approved plans apply in order
-- of approval). Only the deployment holding the lowest ticket among the unfinished ones that
-- will apply may take the environment's guard.
CREATE SEQUENCE "deployment_apply_ticket_seq";

ALTER TABLE "deployments" ADD COLUMN "apply_ticket" BIGINT NOT NULL DEFAULT nextval('deployment_apply_ticket_seq');

ALTER SEQUENCE "deployment_apply_ticket_seq" OWNED BY "deployments"."apply_ticket";

CREATE INDEX "deployments_apply_queue_idx" ON "deployments" ("environment", "apply_ticket") WHERE "status" IN ('queued', 'running');
