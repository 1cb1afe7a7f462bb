# shellcheck shell=bash
# tests/lib/stack.sh: start and stop the whole orchestrator (PostgreSQL,
# orch-api, nginx, orch-worker) in one state directory.  Used by
# tests/e2e/e2e.sh, scripts/run.sh and scripts/bench.sh.  Source it from bash
# after setting top_srcdir and top_builddir (defaults: the tree this file is
# in, built in place).
#
#   stack_init DIR            create DIR/{run,log,www,nginx}; stack_stop runs on EXIT
#   stack_start_pg            pg_start DIR (tests/lib/pg.sh); exports DATABASE_URL
#                             and API_DATABASE_URL unless already set
#   stack_start_api [N]       orch-api with N processes on DIR/run/api.sock
#   stack_start_nginx PORT    copy www/ to DIR/www, render nginx/ into DIR/nginx,
#                             serve 127.0.0.1:PORT
#   stack_start_worker [ARGS] orch-worker with the caller's environment
#   stack_stop_worker [SIG]   signal the worker, wait; status in STACK_WORKER_STATUS
#   stack_spawn NAME LOG CMD  start any CMD in its own process group, stopped
#                             (in reverse order) by stack_stop
#   stack_alive NAME          is NAME still running?
#   stack_wait_http URL [SECONDS [CODE]]   poll until URL answers CODE (200)
#   stack_free_port           a TCP port free on 127.0.0.1 right now
#   stack_stop                stop everything started here, then PostgreSQL
#
# Logs go to DIR/log/{api,worker,nginx-error,nginx-access,postgresql}.log.
# Binaries: $top_builddir/fcgi/orch-api and $top_builddir/worker/orch-worker
# (override with ORCH_API_BIN / ORCH_WORKER_BIN).  PYTHON: the python3 to use.

STACK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3 when there is one: a version manager's shim (pyenv) costs
# about a second per start, and the tests start python often.
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
top_srcdir=${top_srcdir:-$(cd "$STACK_LIB_DIR/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PG_SRCDIR=$top_srcdir
# shellcheck source=pg.sh
. "$STACK_LIB_DIR/pg.sh"

STACK_DIR=
STACK_NAMES=()
declare -gA STACK_PID=()
STACK_PG=0
STACK_WORKER_STATUS=
STACK_PORT=

stack_log() { echo "stack: $*" >&2; }

stack_init() {
  STACK_DIR=$(mkdir -p "${1:?stack_init DIR}" && cd "$1" && pwd) || return 1
  mkdir -p "$STACK_DIR/run" "$STACK_DIR/log" "$STACK_DIR/nginx" || return 1
  # PostgreSQL (as postgres) and nginx's workers (as www-data) must get in.
  chmod 755 "$STACK_DIR" "$STACK_DIR/run" "$STACK_DIR/log" || return 1
  ORCH_API_BIN=${ORCH_API_BIN:-$top_builddir/fcgi/orch-api}
  ORCH_WORKER_BIN=${ORCH_WORKER_BIN:-$top_builddir/worker/orch-worker}
  trap stack_stop EXIT
}

stack_free_port() {
  "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# stack_spawn NAME LOGFILE CMD [ARGS...]: start CMD in the background in its
# own session (so stack_stop can signal its whole process group), stdout and
# stderr appended to LOGFILE, pid in STACK_PID[NAME] and DIR/run/NAME.pid.
stack_spawn() {
  local name=$1 log=$2 pid
  shift 2
  setsid "$@" </dev/null >>"$log" 2>&1 &
  pid=$!
  STACK_PID[$name]=$pid
  STACK_NAMES+=("$name")
  echo "$pid" > "$STACK_DIR/run/$name.pid"
}

# stack_alive NAME: NAME runs (an exited child not yet reaped counts as dead)
stack_alive() {
  local pid=${STACK_PID[$1]:-}
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ! stack_zombie "$pid"
}

stack_zombie() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# stack_kill NAME [SECONDS]: SIGTERM to NAME's process group, SIGKILL after
# SECONDS (10); reaps it.  Sets STACK_KILL_STATUS to its exit status.
stack_kill() {
  local name=$1 secs=${2:-10} pid i
  pid=${STACK_PID[$name]:-}
  STACK_KILL_STATUS=
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < secs * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      stack_zombie "$pid" && break   # exited; reaped by wait below
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && ! stack_zombie "$pid"; then
      stack_log "$name (pid $pid) ignored SIGTERM for ${secs}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  fi
  STACK_KILL_STATUS=0
  wait "$pid" 2>/dev/null || STACK_KILL_STATUS=$?
  # leftovers of the group (children that outlived their parent)
  kill -KILL -- "-$pid" 2>/dev/null || true
  unset "STACK_PID[$name]"
  rm -f "$STACK_DIR/run/$name.pid"
  return 0
}

stack_start_pg() {
  pg_start "$STACK_DIR" "$STACK_DIR/log/postgresql.log" || return 1
  STACK_PG=1
  export DATABASE_URL=${DATABASE_URL:-$(pg_conninfo orch_worker)}
  export API_DATABASE_URL=${API_DATABASE_URL:-$(pg_conninfo orch_api)}
}

# stack_start_api [N]: orch-api with N (2) processes on DIR/run/api.sock,
# reachable by nginx's workers (group www-data when we are root).
stack_start_api() {
  local n=${1:-2} sock=$STACK_DIR/run/api.sock i
  local args=(--socket "$sock" --processes "$n" --socket-mode 0660)
  [ -x "$ORCH_API_BIN" ] || { stack_log "$ORCH_API_BIN not built"; return 1; }
  if [ "$(id -u)" = 0 ]; then args+=(--socket-group "$(id -gn www-data)"); fi
  rm -f "$sock"
  stack_spawn api "$STACK_DIR/log/api.log" "$ORCH_API_BIN" "${args[@]}"
  for ((i = 0; i < 100; i++)); do
    [ -S "$sock" ] && return 0
    stack_alive api || break
    sleep 0.1
  done
  stack_log "orch-api did not open $sock (log: $STACK_DIR/log/api.log):"
  tail -n 20 "$STACK_DIR/log/api.log" >&2
  return 1
}

# stack_start_nginx PORT: a fresh copy of www/ in DIR/www, the site rendered
# into DIR/nginx, nginx in the foreground (daemon off) under our supervision.
stack_start_nginx() {
  local port=${1:?stack_start_nginx PORT} i
  rm -rf "$STACK_DIR/www"
  cp -R "$top_srcdir/www" "$STACK_DIR/www" || return 1
  chmod -R u+w,a+rX "$STACK_DIR/www"
  NGINX_LOG_DIR=${NGINX_LOG_DIR:-$STACK_DIR/log} \
    bash "$top_srcdir/nginx/render.sh" "$port" "$STACK_DIR/www" "$STACK_DIR/run/api.sock" \
         "$STACK_DIR/nginx" "$STACK_DIR/nginx" >/dev/null || return 1
  stack_spawn nginx "$STACK_DIR/log/nginx-error.log" \
    nginx -c "$STACK_DIR/nginx/nginx.conf" -p "$STACK_DIR/nginx/" -g 'daemon off;'
  for ((i = 0; i < 100; i++)); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/")" != 000 ]; then
      STACK_PORT=$port
      return 0
    fi
    stack_alive nginx || break
    sleep 0.1
  done
  stack_log "nginx did not start on 127.0.0.1:$port:"
  tail -n 5 "$STACK_DIR/log/nginx-error.log" >&2
  stack_kill nginx 2
  return 1
}

# stack_start_worker [ARGS...]: orch-worker (or WORKER_WRAPPER... orch-worker)
# with the caller's environment; log appended to DIR/log/worker.log.
# LLM_PROMPT_FILE defaults to worker/prompt.txt of the source tree, and
# CATALOG_FILE to catalog/default.json.
stack_start_worker() {
  [ -x "$ORCH_WORKER_BIN" ] || { stack_log "$ORCH_WORKER_BIN not built"; return 1; }
  # not installed: the prompt template and the seed catalog from the source tree
  if [ -z "${LLM_PROMPT_FILE:-}" ] && [ -f "$top_srcdir/worker/prompt.txt" ]; then
    export LLM_PROMPT_FILE=$top_srcdir/worker/prompt.txt
  fi
  if [ -z "${CATALOG_FILE:-}" ] && [ -f "$top_srcdir/catalog/default.json" ]; then
    export CATALOG_FILE=$top_srcdir/catalog/default.json
  fi
  # shellcheck disable=SC2086
  stack_spawn worker "$STACK_DIR/log/worker.log" ${WORKER_WRAPPER:-} "$ORCH_WORKER_BIN" "$@"
  sleep 0.2     # not a wait for readiness (callers poll for that): a worker that
                # refuses its settings exits at once, and is reported here
  stack_alive worker || { stack_log "orch-worker exited at once:"; tail -n 20 "$STACK_DIR/log/worker.log" >&2; return 1; }
}

# stack_stop_worker [SIGNAL]: signal the worker itself (not its group), wait
# up to 20 s for it; STACK_WORKER_STATUS gets its exit status (or "timeout").
stack_stop_worker() {
  local sig=${1:-TERM} pid=${STACK_PID[worker]:-} i
  STACK_WORKER_STATUS=
  [ -n "$pid" ] || return 0
  kill "-$sig" "$pid" 2>/dev/null
  for ((i = 0; i < 200; i++)); do
    stack_alive worker || break
    sleep 0.1
  done
  if stack_alive worker; then
    STACK_WORKER_STATUS=timeout
    stack_kill worker 1
    return 1
  fi
  STACK_WORKER_STATUS=0
  wait "$pid" 2>/dev/null || STACK_WORKER_STATUS=$?
  unset "STACK_PID[worker]"
  rm -f "$STACK_DIR/run/worker.pid"
  return 0
}

# stack_wait_http URL [SECONDS [CODE]]: poll URL until it answers CODE.
stack_wait_http() {
  local url=$1 secs=${2:-10} want=${3:-200} end code
  end=$((SECONDS + secs))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")
    [ "$code" = "$want" ] && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}

stack_stop() {
  local i name
  for ((i = ${#STACK_NAMES[@]} - 1; i >= 0; i--)); do
    name=${STACK_NAMES[$i]}
    [ -n "${STACK_PID[$name]:-}" ] && stack_kill "$name" 10
  done
  STACK_NAMES=()
  if [ "$STACK_PG" = 1 ]; then
    pg_stop "$STACK_DIR"
    STACK_PG=0
  fi
}
