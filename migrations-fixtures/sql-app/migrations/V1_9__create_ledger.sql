-- V1_9 must run before V1_10 (versions compare part by part, numerically).
CREATE TABLE "ledger_entries" (
    "id" BIGSERIAL PRIMARY KEY,
    "account_id" BIGINT NOT NULL REFERENCES "accounts" ("id"),
    "amount_cents" BIGINT NOT NULL
);
