-- PostgreSQL refuses CREATE INDEX CONCURRENTLY inside a transaction block: this file runs
-- statement by statement, outside one.
CREATE INDEX CONCURRENTLY "accounts_name_idx" ON "accounts" ("name");
