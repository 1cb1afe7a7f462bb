#!/usr/bin/env bash
# Run the orchestrator on this machine: PostgreSQL, the FastCGI API behind
# nginx (dashboard and REST API on http://127.0.0.1:${ORCHESTRATOR_PORT:-8080}/)
# and the decision worker, all private to one state directory.
#
#   sudo scripts/run.sh          install packages, build, start, stay in the
#                                foreground supervising; Ctrl-C stops it all
#   sudo scripts/run.sh stop     stop an instance running in another terminal
#   scripts/run.sh status        is it running? (GET /health)
#
# Settings: the environment, then KEY=VALUE lines from ./.env (or the file
# named by ORCH_ENV_FILE); see env.example.  The environment wins over the
# file.  Without API keys and without N8N_BASE_URL it runs as a dry run:
# decisions are made and recorded, no workflow is started.
# State (database, sockets, logs, generated nginx config):
#   ${ORCH_STATE_DIR:-/var/lib/ai-orchestrator}, logs in its log/ directory.
# ORCHESTRATOR_API_TOKEN (for POST /control/*): when unset, one is generated
# once and kept in <state>/api-token (mode 0600); it is never printed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "run.sh: $*"; }
die() { echo "run.sh: $*" >&2; exit 1; }

# ---- settings file --------------------------------------------------------------
# KEY=VALUE lines (optionally "export KEY=VALUE", values optionally quoted);
# comments and blank lines ignored; variables already set are kept.
load_env_file() {
  local f=$1 line key val n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    line=${line#export }
    if [[ ! $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      echo "run.sh: $f:$n: not a KEY=VALUE line, ignored" >&2
      continue
    fi
    key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    if [[ $val =~ ^\"(.*)\"[[:space:]]*$ ]] || [[ $val =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      val=${BASH_REMATCH[1]}
    else
      val=${val%%[[:space:]]#*}                  # trailing " # comment"
      val=${val%"${val##*[![:space:]]}"}         # trailing blanks
    fi
    [ -n "${!key+x}" ] && continue
    export "$key=$val"
  done < "$f"
}
if [ -n "${ORCH_ENV_FILE:-}" ]; then
  [ -r "$ORCH_ENV_FILE" ] || die "ORCH_ENV_FILE=$ORCH_ENV_FILE is not readable"
  load_env_file "$ORCH_ENV_FILE"
  env_file=$ORCH_ENV_FILE
elif [ -r ./.env ]; then
  load_env_file ./.env
  env_file=$(pwd)/.env
elif [ -r "$repo/.env" ]; then
  load_env_file "$repo/.env"
  env_file=$repo/.env
else
  env_file=
fi

STATE=${ORCH_STATE_DIR:-/var/lib/ai-orchestrator}
PORT=${ORCHESTRATOR_PORT:-8080}
PROCESSES=${ORCH_API_PROCESSES:-2}
case $PROCESSES in ''|*[!0-9]*|0) die "ORCH_API_PROCESSES must be a positive number";; esac

# ---- stop / status ---------------------------------------------------------------
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -r "$1" ] && head -n 1 "$1" | tr -dc 0-9; }

do_stop() {
  local sup i p name
  sup=$(read_pid "$STATE/run/run.pid" || true)
  if pid_alive "$sup"; then
    say "stopping the instance supervised by pid $sup"
    kill -TERM "$sup"
    for ((i = 0; i < 600; i++)); do pid_alive "$sup" || break; sleep 0.1; done
    pid_alive "$sup" && die "pid $sup is still running after 60 s"
    say "stopped"
    return 0
  fi
  # no supervisor: clean up whatever it left behind
  for name in worker nginx api; do
    p=$(read_pid "$STATE/run/$name.pid" || true)
    if pid_alive "$p"; then
      say "stopping leftover $name (pid $p)"
      kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do pid_alive "$p" || break; sleep 0.1; done
      kill -KILL -- "-$p" 2>/dev/null || true
    fi
    rm -f "$STATE/run/$name.pid"
  done
  if [ -f "$STATE/pgdata/postmaster.pid" ]; then
    # shellcheck source=../tests/lib/pg.sh
    PG_SRCDIR=$repo . "$repo/tests/lib/pg.sh"
    say "stopping PostgreSQL"
    pg_stop "$STATE"
  fi
  say "nothing is running now"
}

case ${1:-start} in
  start|run) ;;
  stop) do_stop; exit 0;;
  status)
    sup=$(read_pid "$STATE/run/run.pid" || true)
    if pid_alive "$sup"; then
      say "running (supervisor pid $sup), dashboard http://127.0.0.1:$PORT/"
      curl -s --max-time 3 "http://127.0.0.1:$PORT/health" && echo
      exit 0
    fi
    say "not running"; exit 1;;
  -h|--help|help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
  *) die "usage: $0 [start|stop|status]";;
esac

# ---- start ---------------------------------------------------------------------------
case $STATE in /*) ;; *) STATE=$(pwd)/$STATE;; esac
if [ "$(id -u)" = 0 ]; then
  case $STATE in /root|/root/*) die "ORCH_STATE_DIR=$STATE: PostgreSQL runs as 'postgres' and nginx as 'www-data', which cannot enter /root";; esac
fi
mkdir -p "$STATE/run" "$STATE/log" || die "cannot create $STATE (run as root, or set ORCH_STATE_DIR)"
chmod 755 "$STATE"

exec 9>"$STATE/run/run.lock"
flock -n 9 || die "already running (pid $(read_pid "$STATE/run/run.pid" || echo '?')); stop it with: $0 stop"

say "checking packages"
bash "$repo/scripts/setup-deps.sh"

say "building in $repo/build"
(
  cd "$repo"
  if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi
  fi
  mkdir -p build
  cd build
  [ -f Makefile ] || ../configure --quiet
  make -j"$(nproc)" >/dev/null
) || die "build failed (see above)"

if [ -z "${ORCHESTRATOR_API_TOKEN:-}" ]; then
  tokfile=$STATE/api-token
  if [ ! -s "$tokfile" ]; then
    (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$tokfile")
    say "generated an API token for POST /control/* in $tokfile"
  fi
  chmod 600 "$tokfile"
  ORCHESTRATOR_API_TOKEN=$(cat "$tokfile")
  export ORCHESTRATOR_API_TOKEN
  say "API token: in $tokfile (curl -H \"Authorization: Bearer \$(sudo cat $tokfile)\" ...)"
fi

# From here on every failure is handled where it happens: errexit would end
# the supervisor (and its cleanup) at the first expected non-zero status.
set +e
export top_srcdir=$repo top_builddir=$repo/build
# shellcheck source=../tests/lib/stack.sh
. "$repo/tests/lib/stack.sh"
stack_init "$STATE" || die "cannot prepare $STATE"
echo $$ > "$STATE/run/run.pid"
cleanup() {
  trap - INT TERM
  say "stopping"
  stack_stop
  rm -f "$STATE/run/run.pid"
  say "stopped"
}
trap cleanup EXIT

[ -n "$env_file" ] && say "settings from $env_file"
say "starting PostgreSQL (data in $STATE/pgdata)"
stack_start_pg || die "PostgreSQL did not start (see $STATE/log/postgresql.log)"
say "starting the API ($PROCESSES FastCGI processes)"
stack_start_api "$PROCESSES" || die "orch-api did not start (see $STATE/log/api.log)"
if "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null; then :; else
  die "port $PORT on 127.0.0.1 is in use: set ORCHESTRATOR_PORT"
fi
say "starting nginx on 127.0.0.1:$PORT"
stack_start_nginx "$PORT" || die "nginx did not start (see $STATE/log/nginx-error.log)"
say "starting the worker"
stack_start_worker || die "orch-worker did not start (see $STATE/log/worker.log)"
if [ -z "${N8N_BASE_URL:-}" ]; then
  say "N8N_BASE_URL is not set: dry run (decisions are recorded, no workflow is started)"
fi
stack_wait_http "http://127.0.0.1:$PORT/health" 15 || say "warning: /health does not answer 200 yet"
echo
say "dashboard:  http://127.0.0.1:$PORT/"
say "API:        http://127.0.0.1:$PORT/status  /decisions  /metrics  /health"
say "logs:       $STATE/log/"
say "database:   psql -h $STATE/sock -U postgres orchestrator"
say "Ctrl-C (or $0 stop) stops everything"
echo

# ---- supervise -----------------------------------------------------------------------
# A crashed API or worker is restarted (at most 5 times in 5 minutes each);
# nginx or PostgreSQL going away stops everything.
stopping=0
trap 'stopping=1' INT TERM
declare -A restarts=()
declare -A window=()
restart() {
  local name=$1 now
  now=$(date +%s)
  if [ $((now - ${window[$name]:-0})) -gt 300 ]; then window[$name]=$now; restarts[$name]=0; fi
  restarts[$name]=$((${restarts[$name]:-0} + 1))
  if [ "${restarts[$name]}" -gt 5 ]; then
    say "$name keeps crashing (5 restarts in 5 minutes): giving up; see $STATE/log/$name.log"
    return 1
  fi
  say "$name exited: restarting it ($((restarts[$name]))/5, see $STATE/log/$name.log)"
  case $name in
    api) stack_kill api 5; stack_start_api "$PROCESSES";;
    worker) stack_kill worker 5; stack_start_worker;;
  esac
}
rc=0
while [ "$stopping" = 0 ]; do
  sleep 2 &
  wait $! || true
  [ "$stopping" = 0 ] || break
  if ! stack_alive nginx; then say "nginx exited (see $STATE/log/nginx-error.log)"; rc=1; break; fi
  pgpid=$(read_pid "$STATE/pgdata/postmaster.pid" || true)
  if ! pid_alive "$pgpid"; then say "PostgreSQL exited (see $STATE/log/postgresql.log)"; rc=1; break; fi
  for name in api worker; do
    if ! stack_alive "$name"; then restart "$name" || { rc=1; break 2; }; fi
  done
done
exit $rc
