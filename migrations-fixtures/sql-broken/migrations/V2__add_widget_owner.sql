-- Fails on its second statement; in one transaction with its history row, nothing of it remains.
ALTER TABLE "widgets" ADD COLUMN "owner_id" BIGINT;
ALTER TABLE "widgets" ADD CONSTRAINT "widgets_owner_fk" FOREIGN KEY ("owner_id") REFERENCES "owners" ("id");
