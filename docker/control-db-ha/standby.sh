#!/usr/bin/env bash
# The HA profile's control database standby: at first start, a base backup of the primary that
# writes its own primary_conninfo and standby.signal (-R); then a hot standby streaming from it.
# Promote it when the primary is lost: docker compose exec pg-standby pg_ctl promote -D "$PGDATA"
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h pg-primary -U replicator -D "$PGDATA" -R -X stream --checkpoint=fast; do
    echo 'waiting for the primary to take a base backup' >&2
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
