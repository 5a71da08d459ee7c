-- Who acted, beyond a name (SPEC §13): for a CI job's OIDC token or a person's SSO sign-in, the
-- issuer, subject and (when known) the person behind it; NULL for static tokens and the service.
-- The requester's is kept on the deployment too: approvals compare people across both worlds
-- (a CI run started by a person cannot be approved by that person's SSO session).
ALTER TABLE "deployment_events" ADD COLUMN "actor_identity" JSONB;
ALTER TABLE "deployments" ADD COLUMN "requested_identity" JSONB;
