-- Accounts, the first table.
CREATE TABLE "accounts" (
    "id" BIGSERIAL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
