-- fixture: fails on purpose. The first two statements succeed, then the INSERT
-- references the table "ProjectTag", which no migration creates, so PostgreSQL
-- aborts with: relation "ProjectTag" does not exist. Used to test failure handling
-- (rollback of the partial migration, the failed _prisma_migrations row, restore).

-- CreateTable
CREATE TABLE "Tag" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL,

    CONSTRAINT "Tag_pkey" PRIMARY KEY ("id")
);

-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "primaryTagId" INTEGER;

-- Seed default tags (broken: "ProjectTag" does not exist)
INSERT INTO "ProjectTag" ("projectId", "tagId") SELECT "id", 1 FROM "Project";
