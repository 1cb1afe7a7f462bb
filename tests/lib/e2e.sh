# tests/lib/e2e.sh: what every end-to-end test (tests/e2e/*.sh) shares.
#
#   E2E_NAME=e2e_llm; . "$top_srcdir/tests/lib/e2e.sh"; e2e_begin
#
# Sourcing it sets top_srcdir, top_builddir, SHARED_DATA and FIXTURES,
# unsets every variable env.example documents (a caller's LLM key would make
# the worker call an unreachable host), sources tests/lib/stack.sh and
# defines the helpers below.  e2e_begin makes the state directory T
# (/tmp/orch-$E2E_NAME.XXXXXX, with T/answers), and sets the traps: on exit
# finish() runs e2e_cleanup (when the test defines it), stops the stack,
# shows the last lines of every log (and of the files in E2E_EXTRA_LOGS)
# when something failed, removes T unless KEEP_TMP is set, and prints
# `N passed, N failed`; the exit status is 0 only when nothing failed.
#
#   ok / not_ok / note DESCRIPTION      one result line (or a # comment)
#   check DESCRIPTION CMD...            ok when CMD succeeds
#   bail DESCRIPTION                    a failed precondition: stop here
#   jpy EXPR < JSON                     a Python expression over the document d
#                                       (helpers rows(d), hdr(h, name), body(r))
#   is EXPR < JSON                      EXPR is true
#   api METHOD PATH [CURL ARGS...]      through nginx ($BASE): CODE, BODY, HDRS
#   post PATH [CURL ARGS...]            api POST with an empty body
#   auth                                the Authorization header with $TOKEN
#   hdr NAME                            a header of the last answer
#   sql SQL                             psql on the test database, unaligned
#   last_decision                       the newest decision id (0 when none)
#   wait_for SECONDS CMD...             retry CMD every 0.25 s until it succeeds
#   rnd N                               N random bytes as hex
#   status_is EXPR                      GET /status and EXPR is true over it
#   force_new SECONDS                   POST /control/force-decision and wait
#                                       for the new decision: its id in D
#   settled ID                          no trigger of decision ID is pending,
#                                       sending or retrying
#   trig ID WORKFLOW COLUMN             a column of that decision's trigger
#   standin_start [ARGS...]             tests/standin/standin.py on a free port: SA
#   standin_config JSON                 change the stand-in's behaviour
#   promtool_check FILE                 promtool check metrics FILE: silent, exit 0
#   n8n_begin, n8n_install, standin_b_start, standin_b_config, n8n_e2e_env,
#   n8n_start, done_in                  the tests with real n8n: see their section
# shellcheck shell=bash

_e2e_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$_e2e_lib/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
SHARED_DATA=${SHARED_DATA:-$top_srcdir/../shared/data}
FIXTURES=$SHARED_DATA/fixtures

PASSED=0
FAILED=0
FAILED_NAMES=()
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$*"); echo "not ok - $*"; }
note() { echo "# $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
bail() { not_ok "$*"; exit 1; }

for _e2e_v in $(sed -n 's/^#\{0,1\}\([A-Z][A-Z0-9_]*\)=.*/\1/p' "$top_srcdir/env.example"); do
  unset "$_e2e_v"
done

# shellcheck source=stack.sh
. "$_e2e_lib/stack.sh"

e2e_begin() {
  E2E_T0=$(date +%s)
  T=$(mktemp -d "/tmp/orch-${E2E_NAME:-e2e}.XXXXXX") || exit 1
  mkdir -p "$T/answers"
  stack_init "$T" || bail "state directory $T"
  # not installed: the seed catalog of the source tree (a test may set its own)
  if [ -z "${CATALOG_FILE:-}" ]; then export CATALOG_FILE=$top_srcdir/catalog/default.json; fi
  trap finish EXIT
  trap 'exit 130' INT TERM
}

finish() {
  local rc=$? f
  if declare -F e2e_cleanup >/dev/null; then e2e_cleanup; fi
  stack_stop
  if [ "$FAILED" -gt 0 ] || [ "$rc" != 0 ]; then
    for f in "$T"/log/*.log ${E2E_EXTRA_LOGS:-}; do
      [ -s "$f" ] || continue
      echo "# --- last lines of $(basename "$f")"
      tail -n 15 "$f" | sed 's/^/#   /'
    done
  fi
  note "${E2E_NAME:-e2e} took $(( $(date +%s) - ${E2E_T0:-$(date +%s)} )) s"
  # the failed checks again, last, where a truncated tail still shows them
  for f in "${FAILED_NAMES[@]}"; do note "failed: $f"; done
  if [ -n "${KEEP_TMP:-}" ]; then note "kept $T"; else rm -rf "$T"; fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && [ "$rc" = 0 ] && exit 0
  exit 1
}

jpy() {
  "$PYTHON" -c '
import json, re, sys
def rows(d):
    if isinstance(d, list):
        return d
    for k in ("decisions", "items", "data", "rows"):
        if isinstance(d, dict) and isinstance(d.get(k), list):
            return d[k]
    return []
def hdr(h, name):
    for k, v in (h or {}).items():
        if k.lower() == name.lower():
            return v
    return None
def body(r):
    b = r.get("body")
    if isinstance(b, str):
        try:
            return json.loads(b)
        except ValueError:
            return None
    return b
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(3)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
' "$1"
}
is() { [ "$(jpy "$1")" = true ]; }

NREQ=0
api() {
  local method=$1 path=$2
  shift 2
  NREQ=$((NREQ + 1))
  BODY=$T/answers/$NREQ.body HDRS=$T/answers/$NREQ.headers
  CODE=$(curl -s -X "$method" -o "$BODY" -D "$HDRS" -w '%{http_code}' --max-time 15 "$@" "$BASE$path")
}
post() { api POST "$1" --data-binary '' "${@:2}"; }
auth() { echo "Authorization: Bearer $TOKEN"; }
hdr() { sed -n "s/^$1: *//Ip" "$HDRS" | tr -d '\r' | head -n 1; }

sql() { pg_psql -d orchestrator -At -c "$1"; }
last_decision() { sql "SELECT coalesce(max(id), 0) FROM decisions"; }

wait_for() {
  local secs=$1 end
  shift
  end=$(($(date +%s%N) / 1000000 + secs * 1000))
  while :; do
    "$@" && return 0
    [ $(($(date +%s%N) / 1000000)) -ge $end ] && return 1
    sleep 0.25
  done
}

rnd() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

status_is() {
  api GET /status
  [ "$CODE" = 200 ] && [ "$(jpy "$1" < "$BODY")" = true ]
}
force_new() {
  local before secs=${1:-15}
  before=$(last_decision)
  api POST /control/force-decision --data-binary '' -H "$(auth)"
  [ "$CODE" = 202 ] || { note "force-decision -> HTTP $CODE"; return 1; }
  _e2e_newer() { [ "$(last_decision)" -gt "$before" ]; }
  wait_for "$secs" _e2e_newer || { note "no decision after #$before"; return 1; }
  D=$(last_decision)
}
settled() {
  [ "$(sql "SELECT count(*) > 0 AND bool_and(status NOT IN ('pending','sending','retrying'))
              FROM triggers WHERE decision_id = $1")" = t ]
}
trig() { sql "SELECT $3 FROM triggers WHERE decision_id = $1 AND workflow = '$2'"; }

_e2e_standin_port() {
  SPORT=$(sed -n 's/^standin listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$T/log/standin.log" | head -n 1)
  [ -n "$SPORT" ]
}
standin_start() {
  [ -f "$top_srcdir/tests/standin/standin.py" ] || bail "tests/standin/standin.py present"
  [ -d "$FIXTURES" ] || bail "fixtures found in $FIXTURES (set SHARED_DATA)"
  stack_spawn standin "$T/log/standin.log" \
    "$PYTHON" -u "$top_srcdir/tests/standin/standin.py" --port 0 --fixtures "$FIXTURES" "$@"
  wait_for 10 _e2e_standin_port || bail "stand-in started"
  SA=http://127.0.0.1:$SPORT
}
standin_config() {
  local code
  code=$(curl -s -o "$T/standin-config.out" -w '%{http_code}' --max-time 5 \
         -H 'Content-Type: application/json' --data-binary "$1" "$SA/_standin/config")
  [ "$code" = 200 ] || { note "stand-in config $1 -> HTTP $code: $(head -c 300 "$T/standin-config.out")"; return 1; }
}

# ---- several workers on one database (e2e_faults, e2e_telegram, e2e_n8n_catalog) -------------
# wk NAME [VAR=value...]: start a worker named NAME with those settings, its log in $T/log/NAME.log
wk() {
  local name=$1
  shift
  stack_spawn "$name" "$T/log/$name.log" env "$@" LLM_PROMPT_FILE="$top_srcdir/worker/prompt.txt" "$ORCH_WORKER_BIN"
}
# force_cmd: POST /control/force-decision; the command's id in CMD
force_cmd() {
  api POST /control/force-decision --data-binary '' -H "$(auth)"
  [ "$CODE" = 202 ] || { note "force-decision -> HTTP $CODE"; return 1; }
  CMD=$(jpy 'd.get("command_id") or d.get("id")' < "$BODY")
}
# killed_at_force NAME POINT [VAR=value...]: worker NAME started with those settings and
# ORCH_FAULT=POINT (a fault-injection build), and once it leads, a forced decision (its
# command in CMD) that kills it there; true when it died of that SIGKILL (DEAD_STATUS 137)
killed_at_force() {
  local name=$1 point=$2
  shift 2
  wk "$name" "$@" ORCH_FAULT="$point"
  wait_for 20 is_leader "$name" && force_cmd && wait_for 30 dead "$name" && [ "$DEAD_STATUS" = 137 ]
}
# nc_col EXPR: EXPR of the trigger whose key is NC_KEY (trig picks by decision and workflow)
nc_col() { sql "SELECT $1 FROM triggers WHERE idempotency_key = '$NC_KEY'"; }
pid_of() { echo "${STACK_PID[$1]:-0}"; }
# is_leader NAME: the lease is held by NAME's process
is_leader() { [ "$(sql "SELECT count(*) FROM leader_lease l JOIN workers w ON w.id = l.holder
                          WHERE w.pid = $(pid_of "$1") AND l.released_at IS NULL")" = 1 ]; }
# dead NAME: NAME's process ended; its exit status in DEAD_STATUS
dead() {
  local pid
  pid=$(pid_of "$1")
  stack_alive "$1" && return 1
  DEAD_STATUS=0
  wait "$pid" 2>/dev/null || DEAD_STATUS=$?
  unset "STACK_PID[$1]"
  return 0
}
# stop_timed NAME SIG: signal NAME and wait for it (at most 10 s, then SIGKILL);
# STOP_MS: how long it took, STOP_STATUS: its exit status or "timeout",
# STOP_LOG_MS: the time to its "worker.stop" line (logged_ms): its own stop
# time; the process's exit after that line (a sanitizer build's leak check
# under load) is not the worker's doing, STOP_MS counts it
stop_timed() {
  local pid t0 i
  pid=$(pid_of "$1")
  t0=$(date +%s%N)
  kill "-$2" "$pid" 2>/dev/null
  for ((i = 0; i < 500; i++)); do
    stack_alive "$1" || break
    sleep 0.02
  done
  STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  if stack_alive "$1"; then
    STOP_STATUS=timeout
    STOP_LOG_MS=99999
    stack_kill "$1" 1
    return 1
  fi
  STOP_STATUS=0
  wait "$pid" 2>/dev/null || STOP_STATUS=$?
  unset "STACK_PID[$1]"
  STOP_LOG_MS=$(logged_ms "$T/log/$1.log" worker.stop "$t0")
}
# stopped_within MS: the last stop_timed exited 0, the worker's own stop took
# less than MS by its log, and the process was gone within MS + 3 s
stopped_within() { [ "$STOP_STATUS" = 0 ] && [ "$STOP_LOG_MS" -lt "$1" ] && [ "$STOP_MS" -lt $(($1 + 3000)) ]; }
# logged_ms LOG EVENT T0: milliseconds from T0 (date +%s%N) to the first
# EVENT line of LOG at or after T0, by the log's own clock (99999 when there
# is none): when the process did it, not when a poll of the test saw it.
logged_ms() {
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import json, sys
from datetime import datetime
log, event, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1e9
found = None
try:
    for line in open(log, errors="replace"):
        if '"' + event + '"' not in line:
            continue
        try:
            e = json.loads(line)
            t = datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if e.get("event") == event and t >= t0 - 0.001:
            found = t
            break
except OSError:
    pass
print(int(max(0.0, found - t0) * 1000) if found is not None else 99999)
PY
}

# promtool_check FILE: promtool check metrics on FILE, silent and exit 0 (its
# complaints shown as # comments)
promtool_check() {
  local out rc
  out=$(promtool check metrics < "$1" 2>&1)
  rc=$?
  [ -z "$out" ] || echo "$out" | sed 's/^/# promtool: /'
  check "promtool check metrics: silent, exit 0 (exit $rc)" test "$rc" = 0 -a -z "$out"
}

# ---- the tests with real n8n (e2e_n8n, e2e_n8n_catalog) ------------------------------------
# n8n_begin (after e2e_begin): N8N_SH, N8N_DIR=$T/n8n, its log among E2E_EXTRA_LOGS, and an
#   e2e_cleanup that stops the n8n n8n_start started (before the stack)
n8n_begin() {
  N8N_SH=$top_srcdir/scripts/n8n.sh
  N8N_DIR=$T/n8n
  N8N_STARTED=0
  E2E_EXTRA_LOGS=$N8N_DIR/n8n.log
  e2e_cleanup() {
    if [ "$N8N_STARTED" = 1 ]; then
      bash "$N8N_SH" stop "$N8N_DIR" >/dev/null 2>&1 || note "could not stop n8n ($N8N_DIR)"
    fi
  }
}
# n8n_install: scripts/n8n.sh install (or its cache), else bail with the reason
n8n_install() {
  local t0
  t0=$(date +%s)
  if bash "$N8N_SH" install > "$T/log/n8n-install.log" 2>&1; then
    ok "n8n installed or found in the cache in $(( $(date +%s) - t0 )) s ($(tail -n 1 "$T/log/n8n-install.log"))"
  else
    tail -n 15 "$T/log/n8n-install.log" | sed 's/^/#   /'
    bail "n8n could not be installed (scripts/n8n.sh install: needs Node >= 20, npm and the npm registry; see above)"
  fi
}
# standin_b_start: a second stand-in, SB, for the market sources the workflows call (so
#   that a source made slow or failing for n8n does not change what the worker senses)
_e2e_standin_b_port() {
  SBPORT=$(sed -n 's/^standin listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$T/log/standin-b.log" | head -n 1)
  [ -n "$SBPORT" ]
}
standin_b_start() {
  stack_spawn standin_b "$T/log/standin-b.log" \
    "$PYTHON" -u "$top_srcdir/tests/standin/standin.py" --port 0 --fixtures "$FIXTURES"
  wait_for 10 _e2e_standin_b_port || bail "second stand-in (the workflows' sources) started"
  SB=http://127.0.0.1:$SBPORT
}
# standin_b_config JSON: standin_config for the second stand-in
standin_b_config() { local sa=$SA; SA=$SB; standin_config "$1"; local rc=$?; SA=$sa; return $rc; }
# n8n_e2e_env LLM_ANSWER: the secrets drawn (TOKEN, RTOKEN, HOOK_VALUE, LLM_KEY, TM_KEY), the
#   worker's settings both n8n tests share exported, and both stand-ins configured (the
#   worker's LLM answers LLM_ANSWER); each test exports its own settings after it
n8n_e2e_env() {
  TOKEN=$(rnd 24)
  RTOKEN=results-$(rnd 16)
  HOOK_VALUE=hook-$(rnd 12)
  LLM_KEY=llm-$(rnd 6)
  TM_KEY=tm-$(rnd 6)
  export ORCHESTRATOR_API_TOKEN=$TOKEN ORCH_RESULTS_TOKEN=$RTOKEN LOG_LEVEL=info
  export DEXSCREENER_BASE_URL=$SA/dex
  export TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=$TM_KEY
  export BIRDEYE_BASE_URL="" DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=600 HEARTBEAT_SECONDS=1
  export PROBE_TIMEOUT_MS=2000 WEBHOOK_TIMEOUT_MS=10000
  export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=$LLM_KEY LLM_TIMEOUT_MS=2000 LLM_CYCLE_BUDGET_MS=4000
  standin_config "{\"llm_key\":\"$LLM_KEY\",\"llm_content\":$1,\"tradermade_key\":\"$TM_KEY\"}" || bail "stand-in configured"
  standin_b_config "{\"tradermade_key\":\"$TM_KEY\"}" || bail "second stand-in configured"
}
# n8n_start WHAT [VAR=value...]: scripts/n8n.sh start with the workflows' sources on SB,
#   the results posted to $BASE and the webhooks' auth (and the given settings), ok
#   "n8n started on ... WHAT", else bail; then N8N, N8N_PORT, N8N_KEY and the worker's
#   n8n settings exported
n8n_start() {
  local what=$1 t0
  shift
  t0=$(date +%s)
  N8N_STARTED=1
  if env "$@" DEXSCREENER_BASE_URL="$SB/dex" TRADERMADE_BASE_URL="$SB/tradermade" TRADERMADE_API_KEY="$TM_KEY" \
     ORCH_BASE_URL="$BASE" ORCH_RESULTS_URL="$BASE/results" ORCH_RESULTS_TOKEN="$RTOKEN" \
     N8N_WEBHOOK_AUTH_HEADER=X-Orchestrator-Token N8N_WEBHOOK_AUTH_VALUE="$HOOK_VALUE" \
     bash "$N8N_SH" start "$N8N_DIR" auto > "$T/log/n8n-start.log" 2>&1; then
    N8N_PORT=$(cat "$N8N_DIR/n8n.port")
    ok "n8n started on 127.0.0.1:$N8N_PORT $what in $(( $(date +%s) - t0 )) s"
  else
    tail -n 20 "$T/log/n8n-start.log" | sed 's/^/#   /'
    bail "n8n started (scripts/n8n.sh start)"
  fi
  N8N=http://127.0.0.1:$N8N_PORT
  N8N_KEY=$(cat "$N8N_DIR/api-key")
  export N8N_BASE_URL=$N8N N8N_API_KEY=$N8N_KEY
  export N8N_WEBHOOK_AUTH_HEADER=X-Orchestrator-Token N8N_WEBHOOK_AUTH_VALUE=$HOOK_VALUE
  export TRACK_POLL_SECONDS=1 TRACK_TIMEOUT_SECONDS=300 N8N_WORKFLOWS_REFRESH_SECONDS=5
}
# done_in ID WORKFLOW: that trigger has an outcome, a result and n8n's final status
done_in() {
  [ "$(trig "$1" "$2" "outcome IS NOT NULL AND result_at IS NOT NULL AND execution_status IN ('success','error','crashed','canceled')")" = t ]
}
