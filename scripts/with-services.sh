#!/usr/bin/env bash
# Run a command with DATABASE_URL, REDIS_URL and the example environments' URLs set.
#
#   bash scripts/with-services.sh <command> [args...]
#
# If DATABASE_URL or REDIS_URL is unset (or empty), the project-local PostgreSQL and Redis
# are brought up first (scripts/services.sh up). Then every variable in .data/services.env
# that is not already set (non-empty) in the environment is exported, so URLs you provide
# always win. With both DATABASE_URL and REDIS_URL set nothing is started, but other unset
# variables are still filled from .data/services.env when that file exists.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ENV_FILE="$ROOT/.data/services.env"

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-services.sh <command> [args...]" >&2
  exit 2
fi

if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  # services.sh's status lines go to stderr so that the command's stdout stays its own.
  bash "$ROOT/scripts/services.sh" up >&2
fi

if [ -f "$ENV_FILE" ] && [ -r "$ENV_FILE" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    [ "$key" != "$line" ] || continue
    case "$key" in [A-Za-z_]*) ;; *) continue ;; esac
    case "$key" in *[!A-Za-z0-9_]*) continue ;; esac
    if [ -z "${!key:-}" ]; then
      export "$key=${line#*=}"
    fi
  done <"$ENV_FILE"
fi

exec "$@"
