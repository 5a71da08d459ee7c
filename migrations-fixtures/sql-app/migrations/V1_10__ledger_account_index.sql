-- Depends on V1_9: fails if versions were ordered as text (V1_10 < V1_9).
CREATE INDEX "ledger_entries_account_id_idx" ON "ledger_entries" ("account_id");
