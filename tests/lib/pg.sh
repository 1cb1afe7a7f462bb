# shellcheck shell=bash
# tests/lib/pg.sh: a private PostgreSQL cluster on a Unix socket, for the
# database and end-to-end tests and for scripts/run.sh.  Source it from bash.
#
#   pg_start DIR [LOGFILE]  initdb DIR/pgdata (first time only), start it with
#                           its socket in DIR/sock and no TCP listener, wait
#                           until it accepts connections, create the database
#                           orchestrator and apply sql/migrate.sh.  Exports
#                           PGHOST PGPORT PGDATABASE PGUSER (the superuser).
#   pg_stop DIR             stop it (fast shutdown); no-op when not running.
#   pg_psql ARGS...         psql -X as the superuser on the cluster of PGHOST.
#   pg_conninfo ROLE        "host=DIR/sock port=... dbname=orchestrator user=ROLE"
#
# initdb refuses to run as root: as root the server runs as the `postgres`
# user, so DIR and its parents must be searchable by it (not under /root).
# PG_FAST=1 turns off fsync and friends (throwaway test clusters only).
# Every function returns non-zero, with a message on stderr, on failure:
# a missing server is a failure, never a skip.

PG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_SRCDIR=${PG_SRCDIR:-$(cd "$PG_LIB_DIR/../.." && pwd)}
PG_OWNER=${PG_OWNER:-postgres}
PG_PORT=${PG_PORT:-5432}

# The directory holding initdb and pg_ctl.  Prints it, or fails.
pg_bindir() {
  local d
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/pg_ctl" ] && { echo "$PG_BINDIR"; return 0; }
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  d=$(command -v pg_ctl 2>/dev/null) && [ -x "$(dirname "$d")/initdb" ] && { dirname "$d"; return 0; }
  echo "pg.sh: no PostgreSQL server (initdb, pg_ctl) found: run scripts/setup-deps.sh" >&2
  return 1
}

# Run a command as the cluster's owner: postgres when we are root, else us.
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u "$PG_OWNER" -- "$@")
  else
    (cd / && "$@")
  fi
}

pg_psql() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "${PGPORT:-$PG_PORT}" -U postgres "$@"
}

pg_conninfo() {
  echo "host=$PGHOST port=${PGPORT:-$PG_PORT} dbname=orchestrator user=$1"
}

pg_start() {
  local dir=${1:?pg_start DIR [LOGFILE]} log=${2:-}
  local bin data sock
  bin=$(pg_bindir) || return 1
  command -v psql >/dev/null 2>&1 || { echo "pg.sh: psql not found: run scripts/setup-deps.sh" >&2; return 1; }
  dir=$(cd "$dir" && pwd) || return 1
  data=$dir/pgdata sock=$dir/sock
  [ -n "$log" ] || log=$dir/postgresql.log
  case $sock in *[[:space:]\'\"\\]*) echo "pg.sh: $dir: spaces or quotes in the path" >&2; return 1;; esac
  # a Unix socket path is at most 107 bytes: sock/.s.PGSQL.NNNNN
  [ ${#sock} -le 90 ] || { echo "pg.sh: $sock is too long for a Unix socket path" >&2; return 1; }

  mkdir -p "$data" "$sock" "$(dirname "$log")" || return 1
  touch "$log" || return 1
  if [ "$(id -u)" = 0 ]; then
    id "$PG_OWNER" >/dev/null 2>&1 || { echo "pg.sh: no user $PG_OWNER to run PostgreSQL as" >&2; return 1; }
    chown "$PG_OWNER:" "$data" "$sock" "$log" || return 1
    if ! runuser -u "$PG_OWNER" -- test -w "$sock" -a -w "$log"; then
      echo "pg.sh: user $PG_OWNER cannot reach $dir: put it outside /root and make its parents searchable (chmod 755)" >&2
      return 1
    fi
  fi
  chmod 700 "$data" && chmod 755 "$sock" || return 1

  if [ ! -s "$data/PG_VERSION" ]; then
    if ! pg_as_owner "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C \
           ${PG_FAST:+--no-sync} >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      echo "pg.sh: initdb failed" >&2
      return 1
    fi
    echo "include_if_exists = 'orchestrator.conf'" >> "$data/postgresql.conf"
  fi
  # Rewritten at every start, so a moved state dir or a changed PG_FAST holds.
  {
    echo "# written by tests/lib/pg.sh at every start"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$sock'"
    echo "port = $PG_PORT"
    echo "max_connections = 100"
    echo "shared_buffers = 32MB"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    echo "log_min_messages = warning"
    if [ -n "${PG_FAST:-}" ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } > "$data/orchestrator.conf" || return 1
  [ "$(id -u)" = 0 ] && chown "$PG_OWNER:" "$data/orchestrator.conf"

  export PGHOST=$sock PGPORT=$PG_PORT PGDATABASE=orchestrator PGUSER=postgres

  if ! pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    if ! pg_as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
      tail -n 20 "$log" >&2
      echo "pg.sh: PostgreSQL did not start (log: $log)" >&2
      return 1
    fi
  fi
  for _ in $(seq 1 100); do
    pg_isready -q -h "$sock" -p "$PG_PORT" -d postgres && break
    sleep 0.2
  done
  if ! pg_isready -q -h "$sock" -p "$PG_PORT" -d postgres; then
    echo "pg.sh: PostgreSQL on $sock is not accepting connections (log: $log)" >&2
    return 1
  fi

  if [ "$(pg_psql -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = 'orchestrator'")" != 1 ]; then
    pg_psql -d postgres -c "CREATE DATABASE orchestrator" || return 1
  fi
  if ! sh "$PG_SRCDIR/sql/migrate.sh" -h "$sock" -p "$PG_PORT" -U postgres -d orchestrator >"$dir/migrate.log" 2>&1; then
    cat "$dir/migrate.log" >&2
    echo "pg.sh: sql/migrate.sh failed" >&2
    return 1
  fi
  return 0
}

pg_stop() {
  local dir=${1:?pg_stop DIR} bin
  [ -f "$dir/pgdata/postmaster.pid" ] || return 0
  bin=$(pg_bindir) || return 1
  pg_as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 && return 0
  pg_as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m immediate -w -t 10 stop >/dev/null 2>&1
}
