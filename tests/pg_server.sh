#!/usr/bin/env bash
# pg_server.sh — a throwaway PostgreSQL server for the storage tests.
#
#   tests/pg_server.sh start DIR      starts a server in DIR (created if absent, must be empty),
#                                     prints its URL on stdout and writes it to DIR/url
#   tests/pg_server.sh stop DIR       stops that server and removes DIR
#   tests/pg_server.sh run CMD ARGS   starts one in a fresh temporary directory, runs CMD with
#                                     CAVIAR_TEST_PG_URL set to its URL, stops it whatever
#                                     happens, and exits with CMD's status
#
# The server listens on a Unix socket in DIR/sock only (no TCP), trusts local connections, and
# trades durability for speed (fsync, synchronous_commit and full_page_writes off). It has:
#   role caviar      LOGIN, owner of the database "caviar" (what the tests connect as)
#   role caviar_pw   LOGIN with the password 'right', the only role that must give a password,
#                    so that a test can see a real "password authentication failed"
# Exit status 77 ("skipped" for ctest) when the PostgreSQL server binaries are not installed
# (Debian: apt-get install postgresql, or scripts/setup.sh).
#
# PostgreSQL refuses to run as root. Run as root, the server runs as the 'postgres' system user
# (or 'nobody' when there is none), which is given DIR; clients running as root still reach the
# socket. The port only names the socket file inside DIR/sock, so two servers cannot collide on
# it; it is still chosen at random (and retried) because PostgreSQL derives its System V shared
# memory key from it.
set -euo pipefail

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
marker=.caviar-pg-server   # written by start; stop removes nothing that lacks it

# Our own commands must not be steered by the caller's libpq environment.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGOPTIONS PGSERVICE \
      PGSERVICEFILE PGSSLMODE PGTARGETSESSIONATTRS PGDATA

die() { echo "pg_server.sh: $*" >&2; exit 1; }

# The newest server binaries: Debian's /usr/lib/postgresql/<version>/bin, else the PATH.
find_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then best="$best$d"$'\n'; fi
  done
  best=$(printf '%s' "$best" | sort -V | tail -n 1)
  if [ -z "$best" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    best=$(dirname "$(command -v initdb)")
  fi
  if [ -z "$best" ]; then
    echo "pg_server.sh: PostgreSQL server binaries (initdb, pg_ctl) not found; skipping" >&2
    echo "hint: apt-get install postgresql (or run scripts/setup.sh)" >&2
    exit 77
  fi
  printf '%s\n' "$best"
}

# as_owner CMD ARGS: runs CMD as the user that owns the server (ourselves unless we are root),
# from inside DIR so that an unreadable working directory does not bother it.
dir=""
run_user=""
as_owner() {
  if [ -n "$run_user" ]; then
    (cd "$dir" && runuser -u "$run_user" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

start() {
  dir=$1
  local bin port attempt sock url waited=0
  bin=$(find_bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  case $dir in
    *[\'\ \&?#%]*) die "cannot use '$dir': quotes, spaces and URL characters are not allowed" ;;
  esac
  [ -z "$(ls -A "$dir")" ] || die "cannot start a server in '$dir': it is not empty"
  sock=$dir/sock
  # A socket path is limited to 107 bytes: DIR/sock/.s.PGSQL.NNNNN
  [ ${#sock} -le 90 ] || die "cannot use '$dir': its path is too long for a Unix socket"
  : >"$dir/$marker"
  mkdir -m 0755 "$sock"

  if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then run_user=postgres; else run_user=nobody; fi
    chown -R "$run_user" "$dir"
    as_owner test -w "$dir" ||
      die "cannot start a server in '$dir': user '$run_user' cannot reach it" \
          "(a parent directory is closed to it)"
    echo "$run_user" >"$dir/user"
  fi

  as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed in '$dir'"; }
  # The password role authenticates; everybody else is trusted (the first matching line wins).
  as_owner sh -c "printf '%s\n' 'local all caviar_pw scram-sha-256' 'local all all trust' \
    >'$dir/data/pg_hba.conf'"
  as_owner sh -c "cat >>'$dir/data/postgresql.conf'" <<CONF
# caviar test server (tests/pg_server.sh)
listen_addresses = ''
unix_socket_directories = '$sock'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
CONF

  for attempt in 1 2 3 4 5; do
    port=$((20000 + (RANDOM * 32768 + RANDOM + $$) % 40000))
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -o "-p $port" -w -t 60 \
         start >/dev/null 2>&1; then
      break
    fi
    if [ "$attempt" -eq 5 ]; then
      tail -n 20 "$dir/data/server.log" >&2 || true
      die "cannot start the server in '$dir'"
    fi
  done
  echo "$port" >"$dir/port"

  until "$bin/pg_isready" -q -h "$sock" -p "$port" -d postgres -U postgres; do
    waited=$((waited + 1))
    [ "$waited" -lt 300 ] || die "the server in '$dir' did not become ready within 30 s"
    sleep 0.1
  done
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres \
    >/dev/null <<'SQL'
CREATE ROLE caviar LOGIN;
CREATE DATABASE caviar OWNER caviar;
CREATE ROLE caviar_pw LOGIN PASSWORD 'right';
SQL
  # amcheck, for the chaos test's integrity check of caviar's indexes (creating an extension
  # needs a superuser; calling its check function then needs only the grant).
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d caviar \
    >/dev/null <<'SQL'
CREATE EXTENSION amcheck;
GRANT EXECUTE ON FUNCTION bt_index_check(regclass, boolean) TO caviar;
SQL
  url="postgresql://caviar@/caviar?host=$sock&port=$port"
  echo "$url" >"$dir/url"
  echo "$url"
}

stop() {
  dir=$1
  local bin
  [ -d "$dir" ] || return 0
  rmdir "$dir" 2>/dev/null && return 0   # empty: start never got going
  [ -f "$dir/$marker" ] || die "will not remove '$dir': it was not made by pg_server.sh start"
  if [ -f "$dir/data/postmaster.pid" ]; then
    bin=$(find_bindir)
    if [ -f "$dir/user" ] && [ "$(id -u)" -eq 0 ]; then run_user=$(cat "$dir/user"); fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

# watch PID DIR: stops DIR's server once PID is gone. run starts it detached, so that a server
# does not outlive a run killed with SIGKILL (a ctest timeout), which no trap sees.
watch() {
  while kill -0 "$1" 2>/dev/null; do sleep 1; done
  stop "$2"
}

run() {
  [ $# -gt 0 ] || die "usage: pg_server.sh run CMD [ARGS...]"
  local tmp status
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/caviar-pg.XXXXXX")
  trap 'stop "$tmp"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  setsid "$self" watch "$$" "$tmp" </dev/null >/dev/null 2>&1 &
  # In a subshell of its own with errexit on: bash ignores set -e inside "$(...)" and "||".
  set +e
  (set -e; start "$tmp" >/dev/null)
  status=$?
  set -e
  [ "$status" -eq 0 ] || exit "$status"
  CAVIAR_TEST_PG_URL=$(cat "$tmp/url")
  export CAVIAR_TEST_PG_URL
  status=0
  "$@" || status=$?
  exit "$status"
}

cmd=${1:-}
shift || true
case $cmd in
  start)
    [ $# -eq 1 ] || die "usage: pg_server.sh start DIR"
    # A start that fails half-way stops what it started (only in a directory it marked).
    start_dir=$1
    trap 'if [ -f "$start_dir/$marker" ]; then stop "$start_dir"; fi' EXIT
    start "$1"
    trap - EXIT ;;
  stop)  [ $# -eq 1 ] || die "usage: pg_server.sh stop DIR"; stop "$1" ;;
  run)   run "$@" ;;
  watch) [ $# -eq 2 ] || die "usage: pg_server.sh watch PID DIR"; watch "$1" "$2" ;;
  *) die "usage: pg_server.sh start DIR | stop DIR | run CMD [ARGS...]" ;;
esac
