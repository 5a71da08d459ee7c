-- restore-backup deployments name the backup they restore.
ALTER TABLE "deployments" ADD COLUMN "backup_id" TEXT REFERENCES "backups" ("id");
