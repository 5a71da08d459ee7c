/*
  Data migration, edited by hand after `prisma migrate dev --create-only`.
  Prisma generated `ADD COLUMN "displayName" TEXT NOT NULL`, which fails on a table
  that already has rows. Instead: add the column as nullable, backfill it from the
  local part of the email address, then make it required. Works on empty tables too.
*/
-- AlterTable
ALTER TABLE "User" ADD COLUMN     "displayName" TEXT;

-- Backfill
UPDATE "User" SET "displayName" = split_part("email", '@', 1) WHERE "displayName" IS NULL;

-- AlterTable
ALTER TABLE "User" ALTER COLUMN "displayName" SET NOT NULL;
