#!/usr/bin/env bash
# Project-local PostgreSQL and Redis for development and tests (SPEC §2).
#
#   bash scripts/services.sh [up|down|status]
#
# up (default)  start both on 127.0.0.1 (idempotent; fast when already up), create the
#               example databases, write .data/services.env
# down          stop both
# status        print the state of both; exit 0 only when both answer
#
# Ports: DEPLOYER_PG_PORT (default 55432), DEPLOYER_REDIS_PORT (default 56379). What `up`
# started (ports, pids) is recorded in .data/services.state; without the variables, every
# command acts on the recorded ports, so `status` and `down` find what is really running.
# Data lives under <project>/.data/. The PostgreSQL superuser password is generated once,
# kept in .data/pg-password (mode 600) and .data/services.env (mode 600), and never printed
# nor passed on a command line.
#
# The example target databases (deployer_dev, deployer_staging, deployer_production) each
# belong to a login role of the same name: not a superuser, no CREATEROLE, allowed to connect
# to its own database only (REVOKE CONNECT from PUBLIC, and pg_hba.conf rejects it elsewhere).
# A migration deployed to one environment cannot reach another's database, nor the server's
# programs and files. Their passwords: .data/pg-password-<role> (mode 600), in services.env.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DATA="$ROOT/.data"
STATE_FILE="$DATA/services.state"
state_get() { # state_get KEY: a value recorded by the last `up` (empty when none)
  [ -f "$STATE_FILE" ] && sed -n "s/^$1=//p" "$STATE_FILE" | head -n1
  return 0
}
RECORDED_PG_PORT=$(state_get PG_PORT)
RECORDED_REDIS_PORT=$(state_get REDIS_PORT)
PG_PORT="${DEPLOYER_PG_PORT:-${RECORDED_PG_PORT:-55432}}"
REDIS_PORT="${DEPLOYER_REDIS_PORT:-${RECORDED_REDIS_PORT:-56379}}"
HOST=127.0.0.1
DATABASES=(deployer_control)
TARGET_DATABASES=(deployer_dev deployer_staging deployer_production)
PW_FILE="$DATA/pg-password"
ENV_FILE="$DATA/services.env"
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

say() { printf '%s\n' "$*"; }
err() { printf 'services.sh: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

case "$PG_PORT$REDIS_PORT$RECORDED_PG_PORT$RECORDED_REDIS_PORT" in
  *[!0-9]*) die "DEPLOYER_PG_PORT and DEPLOYER_REDIS_PORT (and the ports in $STATE_FILE) must be numbers" ;;
esac

# ---------------------------------------------------------------- binaries

PGBIN=""
find_pgbin() {
  # Prefer the major version the existing data directory was created with, else the newest.
  local want="" d
  PGBIN=""
  if [ -n "${1:-}" ] && [ -r "$1/PG_VERSION" ]; then
    want=$(cat "$1/PG_VERSION" 2>/dev/null || true)
    if [ -x "/usr/lib/postgresql/$want/bin/pg_ctl" ] && [ -x "/usr/lib/postgresql/$want/bin/initdb" ]; then
      PGBIN="/usr/lib/postgresql/$want/bin"
      return 0
    fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then PGBIN="$d"; return 0; fi
  done
  # Not Debian's layout (e.g. a source or Homebrew install): take them from PATH.
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PGBIN=$(dirname "$(command -v pg_ctl)")
    return 0
  fi
  return 1
}

pgtool() { # pgtool NAME: the client tool from PGBIN, else from PATH
  if [ -n "$PGBIN" ] && [ -x "$PGBIN/$1" ]; then printf '%s' "$PGBIN/$1"; else command -v "$1" || printf '%s' "$1"; fi
}

ensure_binaries() {
  local missing=0
  find_pgbin "" || missing=1
  [ -n "$PGBIN" ] && { [ -x "$(pgtool psql)" ] && [ -x "$(pgtool pg_isready)" ]; } || missing=1
  command -v redis-server >/dev/null 2>&1 || missing=1
  command -v redis-cli >/dev/null 2>&1 || missing=1
  [ "$missing" -eq 0 ] && return 0
  local line="apt-get install -y -qq postgresql redis-server"
  if [ "$IS_ROOT" -ne 1 ]; then
    err "PostgreSQL and/or Redis are not installed. Install them with:"
    err "  sudo $line"
    exit 1
  fi
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL/Redis missing and apt-get is not available; install postgresql and redis-server"
  say "services: installing postgresql and redis-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for the dpkg lock rather than fail when another apt-get is running.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql redis-server </dev/null
  find_pgbin "" || die "apt-get installed postgresql but no initdb/pg_ctl was found"
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
    || die "apt-get installed redis-server but redis-server/redis-cli was not found"
}

# ---------------------------------------------------------------- layout

short_hash() {
  if command -v sha1sum >/dev/null 2>&1; then printf '%s' "$1" | sha1sum | cut -c1-10
  else printf '%s' "$1" | cksum | cut -d' ' -f1; fi
}

TMPBASE="/tmp/migration-deployer-$(short_hash "$ROOT")"
PGBASE=""      # directory holding pg/ (the cluster), pg-run/ (socket) and pg.log
PG_FALLBACK=0
choose_pgbase() {
  PGBASE="$DATA"
  if [ "$IS_ROOT" -eq 1 ] && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
    PGBASE="$TMPBASE"
    PG_FALLBACK=1
  fi
  PGDATA="$PGBASE/pg"
  PGRUN="$PGBASE/pg-run"
  PGLOG="$PGBASE/pg.log"
  # A Unix socket path is limited to 107 bytes; long project paths get a socket under /tmp.
  if [ $(( ${#PGRUN} + 16 )) -ge 107 ]; then PGRUN="$TMPBASE/pg-run"; fi
}

ensure_pg_user() {
  [ "$IS_ROOT" -eq 1 ] || return 0
  id postgres >/dev/null 2>&1 && return 0
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres 2>/dev/null \
    || die "PostgreSQL refuses to run as root and there is no 'postgres' user (useradd failed)"
}

as_pg() { # run a command as the server's owner, from a directory it can read
  if [ "$IS_ROOT" -eq 1 ]; then (cd / && runuser -u postgres -- "$@")
  else "$@"; fi
}

own_pg() { # hand paths to the server's owner
  [ "$IS_ROOT" -eq 1 ] && chown postgres:postgres "$@"
  return 0
}

mkdir_pg() { # mkdir_pg DIR MODE: a directory owned by the server's owner
  mkdir -p "$1"
  own_pg "$1"
  chmod "$2" "$1"
}

# ---------------------------------------------------------------- postgres

pg_ready() { "$(pgtool pg_isready)" -q -h "$HOST" -p "$PG_PORT" -t 3 >/dev/null 2>&1; }

pg_ready_state() { # 0 accepting, 1 rejecting (starting/shutting down), 2 no response
  local rc=0
  "$(pgtool pg_isready)" -q -h "$HOST" -p "$PG_PORT" -t 3 >/dev/null 2>&1 || rc=$?
  printf '%s' "$rc"
}

# Is PID a live (not zombie) postgres process? Never kill -0: daemonised processes can
# linger here as zombies, which kill -0 reports as alive.
live_postgres_pid() {
  local pid="$1" stat comm state
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  comm=${stat#*(}; comm=${comm%%)*}
  state=${stat##*) }; state=${state%% *}
  [ "$state" != Z ] && [ "$state" != X ] || return 1
  case "$comm" in postgres|postmaster) return 0 ;; esac
  return 1
}

psql_admin() { # psql_admin DB ARGS...: connect over TCP as postgres, password via env only
  local db="$1"; shift
  PGPASSWORD="$PG_PW" PGCONNECT_TIMEOUT=5 PGSSLMODE=disable \
    "$(pgtool psql)" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U postgres -d "$db" "$@"
}

gen_password() {
  if command -v openssl >/dev/null 2>&1; then openssl rand -hex 16
  else od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; fi
}

PG_PW=""
load_or_create_password() {
  if [ -s "$PW_FILE" ]; then
    PG_PW=$(tr -d ' \n\r' <"$PW_FILE")
    return 0
  fi
  # A cluster we can no longer log into (its password file is gone): it only ever held
  # disposable local data, so set it aside and initialise a fresh one.
  if [ -e "$PGDATA/PG_VERSION" ]; then
    err "postgres: $PGDATA exists but $PW_FILE is missing; re-initialising it"
    find_pgbin "$PGDATA" || true
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    if [ "$PG_FALLBACK" -eq 1 ]; then rm -rf "$PGDATA"
    else mv "$PGDATA" "$PGDATA.orphaned-$(date +%s)"; fi
    find_pgbin "" || true
  fi
  PG_PW=$(gen_password)
  [ "${#PG_PW}" -eq 32 ] || die "could not generate a password"
  (umask 077; printf '%s\n' "$PG_PW" >"$PW_FILE.tmp.$$")
  mv -f "$PW_FILE.tmp.$$" "$PW_FILE"
}

pg_init() {
  [ -e "$PGDATA/PG_VERSION" ] && return 0
  # A half-made directory from an interrupted initdb is useless: start over.
  [ -d "$PGDATA" ] && rm -rf "$PGDATA"
  mkdir_pg "$PGDATA" 700
  local pwtmp="$PGBASE/.initdb-pw.$$"
  (umask 077; printf '%s\n' "$PG_PW" >"$pwtmp")
  own_pg "$pwtmp"
  local ilog="$PGBASE/initdb.log"
  (umask 077; : >"$ilog"); own_pg "$ilog"
  if ! as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwtmp" --auth=scram-sha-256 \
        -E UTF8 --locale=C >"$ilog" 2>&1; then
    rm -f "$pwtmp"
    cat "$ilog" >&2
    rm -rf "$PGDATA"
    die "postgres: initdb failed"
  fi
  rm -f "$pwtmp"
  printf "\n# migration-deployer: settings rewritten by scripts/services.sh at each start\ninclude = 'deployer.conf'\n" \
    >>"$PGDATA/postgresql.conf"
}

CONF_CHANGED=0
pg_write_conf() { # rewrite deployer.conf; CONF_CHANGED=1 when its content changed
  local q_run=${PGRUN//\'/\'\'} conf="$PGDATA/deployer.conf" content
  content=$(cat <<EOF
# Written by scripts/services.sh; edits are overwritten at the next start.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$q_run'
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
# The log keeps errors, never what caused them: a failing statement may hold a password
# (CREATE ROLE … PASSWORD '…'), and DETAIL/CONTEXT lines quote rows' values and JSON input.
log_min_error_statement = panic
log_error_verbosity = terse
log_parameter_max_length_on_error = 0
log_statement = 'none'
log_min_duration_statement = -1
log_file_mode = 0600
EOF
)
  CONF_CHANGED=0
  if [ -f "$conf" ] && [ "$(cat "$conf")" = "$content" ]; then return 0; fi
  printf '%s\n' "$content" >"$conf"
  own_pg "$conf"
  CONF_CHANGED=1
}

pg_private_log() { # the server log (pg_ctl -l) readable by its owner only
  [ -e "$PGLOG" ] || (umask 077; : >"$PGLOG")
  own_pg "$PGLOG"
  chmod 600 "$PGLOG"
  [ -e "$PGBASE/initdb.log" ] && chmod 600 "$PGBASE/initdb.log"
  return 0
}

pg_clear_stale_pid() {
  local pidfile="$PGDATA/postmaster.pid" pid
  [ -e "$pidfile" ] || return 0
  pid=$(head -n1 "$pidfile" 2>/dev/null || true)
  if live_postgres_pid "$pid"; then
    # Our postmaster is alive but not answering on $PG_PORT: still starting, or running with
    # other settings (another port). Give it a moment, then restart it.
    local i oldport
    oldport=$(sed -n 4p "$pidfile" 2>/dev/null || true)
    if [ "$oldport" = "$PG_PORT" ]; then
      for i in $(seq 1 50); do pg_ready && return 0; sleep 0.2; done
    fi
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    live_postgres_pid "$pid" && die "postgres: postmaster (pid $pid) does not answer on $HOST:$PG_PORT and would not stop"
  fi
  # Stale lock files (postmaster gone, or a zombie left behind) would make postgres refuse
  # to start when their PID looks alive.
  rm -f "$pidfile" "$PGRUN/.s.PGSQL.$PG_PORT.lock" "$PGRUN/.s.PGSQL.$PG_PORT"
}

pg_start() {
  pg_write_conf
  mkdir_pg "$PGRUN" 700
  pg_private_log
  pg_clear_stale_pid
  pg_ready && return 0
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 120 start >/dev/null 2>&1 9>&-; then
    err "postgres: failed to start; last lines of $PGLOG:"
    tail -n 20 "$PGLOG" >&2 || true
    exit 1
  fi
  local i
  for i in $(seq 1 100); do pg_ready && return 0; sleep 0.1; done
  die "postgres: started but not answering on $HOST:$PG_PORT (see $PGLOG)"
}

pg_up() {
  choose_pgbase
  ensure_pg_user
  if [ "$PG_FALLBACK" -eq 1 ]; then
    mkdir -p "$TMPBASE"
    [ "$(stat -c %U "$TMPBASE")" = root ] || [ "$(stat -c %U "$TMPBASE")" = postgres ] \
      || die "$TMPBASE is owned by someone else"
    chown postgres:postgres "$TMPBASE"; chmod 700 "$TMPBASE"
  fi
  find_pgbin "$PGDATA" || die "no PostgreSQL server binaries found"
  load_or_create_password

  local state
  state=$(pg_ready_state)
  if [ "$state" = 1 ]; then # starting up (or recovering): wait for it
    local i
    for i in $(seq 1 300); do pg_ready && { state=0; break; }; sleep 0.2; done
  fi
  if [ "$state" != 0 ]; then
    [ "$PG_FALLBACK" -eq 1 ] && say "postgres: $DATA is not reachable by the postgres user; the cluster lives in $PGBASE"
    pg_init
    pg_start
  fi

  # Check that the server answering is ours (our password works), then create the databases.
  local have
  if ! have=$(psql_admin postgres -At -c "select datname from pg_database" 2>/dev/null); then
    die "postgres: something answers on $HOST:$PG_PORT but rejects this project's password (another cluster?). Stop it, or set DEPLOYER_PG_PORT."
  fi
  # A server started by an earlier version of this script: its settings and log made current.
  pg_write_conf
  [ "$CONF_CHANGED" -eq 1 ] && psql_admin postgres -At -c "SELECT pg_reload_conf()" >/dev/null
  pg_private_log
  local db
  for db in "${DATABASES[@]}"; do
    if ! grep -qx "$db" <<<"$have"; then
      psql_admin postgres -c "CREATE DATABASE \"$db\"" >/dev/null 2>&1 \
        || psql_admin postgres -At -c "select 1 from pg_database where datname = '$db'" 2>/dev/null | grep -q 1 \
        || die "postgres: could not create database $db"
    fi
  done
  pg_target_roles
  say "postgres: up on $HOST:$PG_PORT"
}

role_password() { # role_password ROLE: its password, generated once into .data/pg-password-ROLE
  local file="$DATA/pg-password-$1" pw
  if [ ! -s "$file" ]; then
    pw=$(gen_password)
    [ "${#pw}" -eq 32 ] || die "could not generate a password"
    (umask 077; printf '%s\n' "$pw" >"$file.tmp.$$")
    mv -f "$file.tmp.$$" "$file"
  fi
  tr -d ' \n\r' <"$file"
}

# One owner role per example target database, confined to it (see the header). An example
# database made by an earlier version of this script belongs to the superuser, with objects the
# new owner could not alter: it only ever held example data, so it is recreated empty.
pg_target_roles() {
  local db pw owner hba="$PGDATA/pg_hba.conf" block="" current
  for db in "${TARGET_DATABASES[@]}"; do
    pw=$(role_password "$db")
    psql_admin postgres >/dev/null <<SQL
SELECT format('CREATE ROLE %I', '$db') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$db') \gexec
ALTER ROLE "$db" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$pw';
SQL
    owner=$(psql_admin postgres -At -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$db'")
    if [ "$owner" != "$db" ]; then
      if [ -n "$owner" ]; then
        psql_admin postgres -c "DROP DATABASE \"$db\" WITH (FORCE)" >/dev/null
        say "postgres: recreated the example database $db (empty), owned by its own role $db instead of $owner"
      fi
      psql_admin postgres -c "CREATE DATABASE \"$db\" OWNER \"$db\"" >/dev/null || die "postgres: could not create database $db"
    fi
    block+="host    $db    $db    $HOST/32    scram-sha-256"$'\n'
    block+="local   $db    $db                    scram-sha-256"$'\n'
    block+="host    all    $db    all             reject"$'\n'
    block+="local   all    $db                    reject"$'\n'
  done
  # No database lets every role connect: each target role reaches its own only.
  local revoke="" d
  for d in "${TARGET_DATABASES[@]}" "${DATABASES[@]}" postgres template1; do revoke+="REVOKE CONNECT, TEMPORARY ON DATABASE \"$d\" FROM PUBLIC;"$'\n'; done
  psql_admin postgres >/dev/null <<<"$revoke"
  # Rehearsals (SPEC §12) need a role that may create scratch databases, which no target role may:
  # deployer_rehearsal has CREATEDB and nothing else (no superuser, no CREATEROLE), connects to
  # `postgres` to create them, and owns (so reaches) only the scratch databases it creates.
  pw=$(role_password deployer_rehearsal)
  psql_admin postgres >/dev/null <<SQL
SELECT format('CREATE ROLE %I', 'deployer_rehearsal') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'deployer_rehearsal') \gexec
ALTER ROLE deployer_rehearsal WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$pw';
GRANT CONNECT ON DATABASE postgres TO deployer_rehearsal;
SQL
  # ...and for databases created later (PUBLIC may connect to those), pg_hba.conf says so first.
  block="# BEGIN migration-deployer target roles (scripts/services.sh rewrites this block)"$'\n'"$block# END migration-deployer target roles"
  current=$(sed '/^# BEGIN migration-deployer target roles/,/^# END migration-deployer target roles/d' "$hba")
  if [ "$(cat "$hba")" != "$block"$'\n'"$current" ]; then
    printf '%s\n%s\n' "$block" "$current" >"$hba.tmp.$$"
    own_pg "$hba.tmp.$$"; chmod 600 "$hba.tmp.$$"
    mv -f "$hba.tmp.$$" "$hba"
    psql_admin postgres -At -c "SELECT pg_reload_conf()" >/dev/null
  fi
}

pg_down() {
  choose_pgbase
  find_pgbin "$PGDATA" || { say "postgres: not installed"; return 0; }
  if [ -e "$PGDATA/postmaster.pid" ] && live_postgres_pid "$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null)"; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || die "postgres: could not stop the server in $PGDATA"
    say "postgres: stopped"
  else
    rm -f "$PGDATA/postmaster.pid" 2>/dev/null || true
    say "postgres: not running"
  fi
}

# ---------------------------------------------------------------- redis

redis_ready() { redis_answers "$REDIS_PORT"; }
redis_answers() { [ "$(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null)" = PONG ]; }

# Is PID a live (not zombie) redis-server? As live_postgres_pid, never kill -0.
live_redis_pid() {
  local pid="$1" stat comm state
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  comm=${stat#*(}; comm=${comm%%)*}
  state=${stat##*) }; state=${state%% *}
  [ "$state" != Z ] && [ "$state" != X ] && [ "${comm#redis-server}" != "$comm" ]
}

# The pid of the redis-server answering on PORT (from INFO), empty if none answers.
redis_pid_on() { redis-cli -h "$HOST" -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id:\([0-9]*\)$/\1/p'; }

# Stops the redis-server this project started, pid PID, on PORT: SHUTDOWN through the port when the
# Redis there is that process, else TERM to the pid. Without a pid nothing is ours to stop: a Redis
# answering on the default port may be anyone's (another checkout's, CI's), so it is left alone.
redis_stop() {
  local port="$1" pid="${2:-}" i
  if [ -z "$pid" ] || ! live_redis_pid "$pid"; then
    say "redis: not running (none started from this folder)"
    return 0
  fi
  if command -v redis-cli >/dev/null 2>&1 && [ "$(redis_pid_on "$port")" = "$pid" ]; then
    redis-cli -h "$HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  for i in $(seq 1 100); do
    live_redis_pid "$pid" || break
    sleep 0.05
  done
  if live_redis_pid "$pid"; then die "redis: still running on $HOST:$port (pid $pid)"; fi
  say "redis: stopped (was on $HOST:$port)"
}

redis_up() {
  # Started before on another port (the variables changed): that one is ours, stop it first.
  if [ -n "$RECORDED_REDIS_PORT" ] && [ "$RECORDED_REDIS_PORT" != "$REDIS_PORT" ] && redis_answers "$RECORDED_REDIS_PORT"; then
    redis_stop "$RECORDED_REDIS_PORT" "$(state_get REDIS_PID)"
  fi
  if ! redis_ready; then
    mkdir -p "$DATA/redis"
    if ! redis-server --port "$REDIS_PORT" --bind "$HOST" --daemonize yes --dir "$DATA/redis" \
          --save '' --appendonly no --logfile "$DATA/redis.log" --pidfile "$DATA/redis.pid" >/dev/null 2>&1 9>&-; then
      err "redis: failed to start; last lines of $DATA/redis.log:"
      tail -n 20 "$DATA/redis.log" >&2 2>/dev/null || true
      exit 1
    fi
    local i ok=0
    for i in $(seq 1 100); do redis_ready && { ok=1; break; }; sleep 0.05; done
    if [ "$ok" -ne 1 ]; then
      err "redis: not answering on $HOST:$REDIS_PORT; last lines of $DATA/redis.log:"
      tail -n 20 "$DATA/redis.log" >&2 2>/dev/null || true
      exit 1
    fi
  fi
  say "redis: up on $HOST:$REDIS_PORT"
}

redis_down() {
  # The recorded pid, else the one redis-server wrote itself (started before the state was recorded).
  local pid
  pid=$(state_get REDIS_PID)
  [ -z "$pid" ] && [ -r "$DATA/redis.pid" ] && pid=$(tr -d ' \n' <"$DATA/redis.pid" 2>/dev/null || true)
  redis_stop "$REDIS_PORT" "$pid"
  rm -f "$DATA/redis.pid"
}

# ---------------------------------------------------------------- env file

write_env() {
  local base="postgres://postgres:$PG_PW@$HOST:$PG_PORT"
  local target="$HOST:$PG_PORT"
  local content
  # Each environment's URL names its own role (see pg_target_roles), never the superuser.
  content=$(cat <<EOF
DATABASE_URL=$base/deployer_control
REDIS_URL=redis://$HOST:$REDIS_PORT
DEV_DATABASE_URL=postgres://deployer_dev:$(role_password deployer_dev)@$target/deployer_dev
STAGING_DATABASE_URL=postgres://deployer_staging:$(role_password deployer_staging)@$target/deployer_staging
PROD_DATABASE_URL=postgres://deployer_production:$(role_password deployer_production)@$target/deployer_production
REHEARSAL_DATABASE_URL=postgres://deployer_rehearsal:$(role_password deployer_rehearsal)@$target/postgres
TEST_ADMIN_DATABASE_URL=$base/postgres
EOF
)
  if [ -f "$ENV_FILE" ] && [ "$(cat "$ENV_FILE")" = "$content" ]; then
    chmod 600 "$ENV_FILE"
    return 0
  fi
  (umask 077; printf '%s\n' "$content" >"$ENV_FILE.tmp.$$")
  mv -f "$ENV_FILE.tmp.$$" "$ENV_FILE"
}

# ---------------------------------------------------------------- state

# Records what `up` left running, for `status` and `down` run later without the variables.
write_state() {
  local pg_pid="" redis_pid=""
  [ -r "$PGDATA/postmaster.pid" ] && pg_pid=$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
  [ -r "$DATA/redis.pid" ] && redis_pid=$(tr -d ' \n' <"$DATA/redis.pid" 2>/dev/null || true)
  printf '%s\n' \
    '# Written by scripts/services.sh up: what runs for this project. status and down act on it.' \
    "PG_PORT=$PG_PORT" "PG_PID=$pg_pid" "PG_DATA=$PGDATA" "REDIS_PORT=$REDIS_PORT" "REDIS_PID=$redis_pid" \
    >"$STATE_FILE.tmp.$$"
  mv -f "$STATE_FILE.tmp.$$" "$STATE_FILE"
}

# ---------------------------------------------------------------- main

prepare_data_dir() {
  mkdir -p "$DATA"
  # The postgres user must be able to traverse .data to reach .data/pg; the secrets in it
  # are files of mode 600.
  chmod 755 "$DATA" 2>/dev/null || true
}

lock() {
  command -v flock >/dev/null 2>&1 || return 0
  # fd 9 must not leak into the daemons started below (they would hold the lock forever):
  # their start commands close it with 9>&-.
  exec 9>"$DATA/.services.lock"
  if ! flock -w 60 9; then
    err "warning: another scripts/services.sh has held $DATA/.services.lock for 60 s; going on without it"
    exec 9>&-
  fi
}

cmd="${1:-up}"
case "$cmd" in
  up)
    ensure_binaries
    prepare_data_dir
    lock
    pg_up
    redis_up
    write_env
    write_state
    ;;
  down)
    [ -d "$DATA" ] || { say "postgres: not running"; say "redis: not running"; exit 0; }
    lock
    pg_down
    redis_down
    rm -f "$STATE_FILE"
    ;;
  status)
    rc=0
    find_pgbin "" || true
    pg_pid=$(state_get PG_PID); redis_pid=$(state_get REDIS_PID)
    if [ -n "$PGBIN" ] && pg_ready; then say "postgres: up on $HOST:$PG_PORT${pg_pid:+ (pid $pg_pid)}"; else say "postgres: down (port $PG_PORT)"; rc=3; fi
    if command -v redis-cli >/dev/null 2>&1 && redis_ready; then say "redis: up on $HOST:$REDIS_PORT${redis_pid:+ (pid $redis_pid)}"
    else say "redis: down (port $REDIS_PORT)"; rc=3; fi
    [ -f "$STATE_FILE" ] && say "state: $STATE_FILE"
    [ -f "$ENV_FILE" ] && say "env: $ENV_FILE"
    exit "$rc"
    ;;
  -h|--help|help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
    ;;
  *)
    die "unknown command '$cmd' (use up, down or status)"
    ;;
esac
