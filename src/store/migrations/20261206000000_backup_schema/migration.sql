-- The schema a pg_dump backup holds when the target URL names one (Prisma's ?schema=, other than
-- public): its restore drops and recreates only that schema. NULL: the whole database.
ALTER TABLE "backups" ADD COLUMN "schema" TEXT;
