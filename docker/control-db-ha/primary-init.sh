#!/usr/bin/env bash
# The HA profile's control database primary (docker-compose.yml, profile "ha"): a role the
# standby streams WAL with, allowed to connect for replication. Runs once, at initdb.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo 'host replication replicator all scram-sha-256' >> "$PGDATA/pg_hba.conf"
