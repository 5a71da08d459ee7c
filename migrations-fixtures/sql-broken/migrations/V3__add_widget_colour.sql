ALTER TABLE "widgets" ADD COLUMN "colour" TEXT;
