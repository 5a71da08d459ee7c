ALTER TABLE "accounts" ADD COLUMN "email" TEXT;
CREATE UNIQUE INDEX "accounts_email_key" ON "accounts" ("email");
