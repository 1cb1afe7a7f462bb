#!/usr/bin/env bash
# End-to-end test: the real PostgreSQL, nginx, orch-api (FastCGI) and
# orch-worker, with tests/standin/standin.py standing in for DexScreener,
# Pump.fun, TraderMade, Birdeye, n8n and an OpenAI-compatible LLM.  Every
# check goes through nginx with curl, except where the database or the
# stand-in's request log is the thing checked.  In order: health and the first
# decisions; webhook payloads and idempotency keys; control (tokens, force
# with NOTIFY wake-up, stop, start); bad parameters and unknown paths;
# /metrics under promtool; the dashboard; n8n failures (not registered, 500,
# slow); DexScreener failures (malformed, timeout); LLM failure -> fallback;
# SIGTERM; dry run; optionally one cycle under valgrind; secrets in logs.
#
# Run by `make check` (top_srcdir, top_builddir and SHARED_DATA set by
# Makefile.am); by hand:  top_builddir=/path/to/build bash tests/e2e/e2e.sh
# Environment:
#   E2E_VALGRIND=1  also run one worker cycle under valgrind (skipped, with a
#                   note, when the build uses the sanitizers)
#   KEEP_TMP=1      keep the state directory (logs, database) afterwards
# Output: one `ok - ...` / `not ok - ...` line per check, then
# `N passed, N failed`.  Exit 0 when nothing failed, else 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

# standin_hooks: the webhook requests the stand-in received, as a JSON array.
standin_hooks() {
  curl -s --max-time 5 "$SA/_standin/requests?prefix=/n8n/webhook/"
}

# force: POST /control/force-decision with the token; echo the HTTP code
force() { post /control/force-decision -H "$(auth)"; echo "$CODE"; }

# forced_after ID: a decision with source 'forced' and id > ID exists (via the API)
forced_after() {
  api GET "/decisions?limit=20"
  [ "$CODE" = 200 ] || return 1
  FORCED_ID=$(jpy "max([r.get('id', 0) for r in rows(d) if r.get('source') == 'forced' and int(r.get('id', 0)) > $1] or [0])" < "$BODY")
  [ -n "$FORCED_ID" ] && [ "$FORCED_ID" != 0 ]
}

# triggers_done DECISION: the decision is finished and has triggers, none of
# them still pending or sending
triggers_done() {
  [ "$(sql "SELECT count(*) > 0 AND bool_and(t.status NOT IN ('pending','sending'))
                   AND bool_and(d.status NOT IN ('pending','acting'))
              FROM triggers t JOIN decisions d ON d.id = t.decision_id WHERE d.id = $1")" = t ]
}


# force_and_wait SECONDS: force a decision, wait until it exists and its
# triggers are finished; FORCED_ID is its id.
force_and_wait() {
  local before code
  before=$(last_decision)
  code=$(force)
  [ "$code" = 202 ] || { note "force-decision -> HTTP $code"; return 1; }
  wait_for "$1" forced_after "$before" || { note "no forced decision after #$before"; return 1; }
  wait_for "$1" triggers_done "$FORCED_ID" || { note "decision #$FORCED_ID: triggers not finished:"; sql "SELECT workflow, status FROM triggers WHERE decision_id = $FORCED_ID" | sed 's/^/#   /'; return 1; }
}

# trigger_rows DECISION: "workflow status http_status error" of its triggers, one per line
trigger_rows() { sql "SELECT workflow || ' ' || status || ' ' || coalesce(http_status::text, '-') || ' ' || coalesce(error, '-') FROM triggers WHERE decision_id = $1 ORDER BY id"; }

# all_triggers DECISION STATUS [HTTP_STATUS [ERROR_REGEX]]
all_triggers() {
  local id=$1 st=$2 hs=${3:-} re=${4:-} rows bad
  rows=$(trigger_rows "$id")
  [ -n "$rows" ] || { note "decision #$id has no triggers"; return 1; }
  bad=$(sql "SELECT count(*) FROM triggers WHERE decision_id = $id AND (status <> '$st'
               ${hs:+OR http_status IS DISTINCT FROM $hs}
               ${re:+OR coalesce(error, '') !~* '$re'})")
  if [ "$bad" != 0 ]; then
    note "decision #$id triggers (want $st ${hs:+http $hs} ${re:+error ~ $re}):"
    echo "$rows" | sed 's/^/#   /'
    return 1
  fi
}

# ---- start -----------------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] ||
  bail "binaries built ($ORCH_WORKER_BIN, $ORCH_API_BIN)"

PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
ok "PostgreSQL started and migrated"

standin_start --record "$T/standin-requests.jsonl"
ok "stand-in listening on $SA"

TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
TM_KEY=test-tm-key
BE_KEY=test-be-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
LLM_KEY=test-llm-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
export ORCHESTRATOR_API_TOKEN=$TOKEN LOG_LEVEL=${LOG_LEVEL:-info}
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=$TM_KEY
export BIRDEYE_BASE_URL=$SA/birdeye BIRDEYE_API_KEY=$BE_KEY
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=8 HEARTBEAT_SECONDS=1
export PROBE_TIMEOUT_MS=1500 WEBHOOK_TIMEOUT_MS=2000
N8N=$SA/n8n
# The LLM (the stand-in's OpenAI-compatible /llm) chooses every decision, so
# that each one starts known workflows: the fallback policy alone may rightly
# start nothing when it scanned recently.
export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=$LLM_KEY LLM_TIMEOUT_MS=2000 LLM_CYCLE_BUDGET_MS=4000
LLM_ANSWER='{"mode":"crypto","intensity":"normal","workflows":["crypto-normal-scan","health-monitor-check"],"next_decision_seconds":8,"reason":"e2e: the stand-in LLM chooses a crypto scan and a health check","confidence":0.8}'
standin_config "{\"tradermade_key\":\"$TM_KEY\",\"llm_key\":\"$LLM_KEY\",\"llm_content\":$LLM_ANSWER}" ||
  bail "stand-in configured"

stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do
  port=$(stack_free_port)
  stack_start_nginx "$port" && break
done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
ok "orch-api (2 processes) behind nginx on $BASE"

N8N_BASE_URL=$N8N stack_start_worker || bail "orch-worker started"

# ---- health, decisions, webhooks ---------------------------------------------------

health_alive() {
  api GET /health
  [ "$CODE" = 200 ] || return 1
  [ "$(jpy "d.get('status') == 'ok' and (d.get('worker') or {}).get('alive') is True" < "$BODY")" = true ]
}
if wait_for 15 health_alive; then ok "/health 200 with the worker alive"
else not_ok "/health 200 with the worker alive (last: HTTP $CODE $(head -c 300 "$BODY"))"; fi

has_decision() {
  api GET /decisions
  [ "$CODE" = 200 ] && [ "$(jpy 'len(rows(d))' < "$BODY")" -gt 0 ]
}
if wait_for 15 has_decision; then ok "a decision appears in /decisions"
else not_ok "a decision appears in /decisions (last: HTTP $CODE $(head -c 300 "$BODY"))"; fi

hooks_arrived() { [ "$(standin_hooks | jpy 'len(d)')" -gt 0 ] 2>/dev/null; }
# a forced decision makes sure there are webhooks even if the first chose none
if ! wait_for 8 hooks_arrived; then force >/dev/null; fi
if wait_for 10 hooks_arrived; then ok "the stand-in received webhook POSTs"
else not_ok "the stand-in received webhook POSTs"; fi

standin_hooks > "$T/hooks.json"
check_payloads() {
  "$PYTHON" - "$T/hooks.json" <<'EOF'
import json, sys
hooks = json.load(open(sys.argv[1]))
bad = []
keys = []
for r in hooks:
    b = r.get("body")
    if isinstance(b, str):
        try:
            b = json.loads(b)
        except ValueError:
            bad.append("%s: body is not JSON" % r.get("path")); continue
    h = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
    if r.get("method") != "POST":
        bad.append("%s: method %s" % (r.get("path"), r.get("method")))
    for k in ("decision_id", "trigger_id", "idempotency_key", "workflow", "mode", "intensity", "session", "market"):
        if k not in b:
            bad.append("%s: no %s" % (r.get("path"), k))
    if h.get("idempotency-key") != b.get("idempotency_key"):
        bad.append("%s: Idempotency-Key header %r != body %r" % (r.get("path"), h.get("idempotency-key"), b.get("idempotency_key")))
    if not r.get("path", "").endswith("/webhook/" + str(b.get("workflow"))):
        bad.append("%s: workflow %s does not match the path" % (r.get("path"), b.get("workflow")))
    keys.append(b.get("idempotency_key"))
if len(set(keys)) != len(keys):
    bad.append("idempotency keys repeat: %s" % sorted(k for k in set(keys) if keys.count(k) > 1))
for x in bad:
    print("# " + x)
sys.exit(1 if bad or not hooks else 0)
EOF
}
check "webhook bodies carry decision_id, idempotency_key, workflow, mode, ...; Idempotency-Key header = body key; all keys distinct" check_payloads

ids_match() {
  api GET "/decisions?limit=100"
  [ "$CODE" = 200 ] || return 1
  jpy '[r.get("id") for r in rows(d)]' < "$BODY" > "$T/decision-ids.json"
  "$PYTHON" - "$T/hooks.json" "$T/decision-ids.json" <<'EOF'
import json, sys
hooks = json.load(open(sys.argv[1]))
ids = set(int(i) for i in json.load(open(sys.argv[2])))
seen = set()
for r in hooks:
    b = r.get("body")
    b = json.loads(b) if isinstance(b, str) else b
    seen.add(int(b["decision_id"]))
missing = seen - ids
if missing or not seen:
    print("# decision ids in payloads but not in /decisions: %s" % sorted(missing))
    sys.exit(1)
EOF
}
check "decision ids in webhook payloads are decisions listed by /decisions" ids_match

# ---- control -------------------------------------------------------------------------

post /control/force-decision
check "POST /control/force-decision without a token -> 401 (got $CODE)" test "$CODE" = 401
post /control/force-decision -H "Authorization: Bearer wrong-$TOKEN"
check "POST /control/force-decision with a wrong token -> 401 (got $CODE)" test "$CODE" = 401
before=$(last_decision)
post /control/force-decision -H "$(auth)"
check "POST /control/force-decision with the token -> 202 (got $CODE)" test "$CODE" = 202
t0=$(date +%s%N)
if wait_for 4 forced_after "$before"; then
  ok "a forced decision (#$FORCED_ID) appears within $(( ($(date +%s%N) - t0) / 1000000 )) ms (NOTIFY wake-up)"
else
  not_ok "a forced decision appears within 4 s"
fi

post /control/stop -H "$(auth)"
check "POST /control/stop -> 202 (got $CODE)" test "$CODE" = 202
check "/status running false after stop" wait_for 5 status_is 'd.get("running") is False'
# begun_before_stop IDS...: each decision comes from a cycle that began before
# the worker applied the last stop (a stop seen while a decision waits on its
# probes or the LLM lets that decision end); from the worker's log: the last
# control.applied stop, and each cycle.done's time less its total_ms
begun_before_stop() {
  "$PYTHON" - "$T/log/worker.log" "$@" <<'EOF'
import json, sys
from datetime import datetime
def at(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
stop, begun = None, {}
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "control.applied" and e.get("command") == "stop" and e.get("result") == "stopped":
        stop, begun = at(e["ts"]), {}
    elif e.get("event") == "cycle.done" and stop is not None:
        begun[str(e.get("decision_id"))] = at(e["ts"]) - float(e.get("total_ms", 0)) / 1000
bad = [i for i in sys.argv[2:] if stop is None or begun.get(i, stop) >= stop]
for i in bad:
    print("# decision #%s: no cycle of it began before the stop" % i)
sys.exit(1 if bad else 0)
EOF
}
quiet_from=$(last_decision)
sleep 10                # what is tested: nothing is decided for longer than DECISION_MAX_SECONDS
new_ids=$(sql "SELECT id FROM decisions WHERE id > $quiet_from AND run_id IS NULL ORDER BY id" | tr '\n' ' ')
check "no decision begun for 10 s while stopped (DECISION_MAX_SECONDS=8)${new_ids:+; #${new_ids% } was on its way at the stop}" \
  begun_before_stop $new_ids
post /control/start -H "$(auth)"
check "POST /control/start -> 202 (got $CODE)" test "$CODE" = 202
check "/status running true after start" wait_for 5 status_is 'd.get("running") is True'
new_decision() { [ "$(last_decision)" -gt "$quiet_from" ]; }
check "decisions resume after start" wait_for 12 new_decision

# ---- bad requests ----------------------------------------------------------------------

# json_answer: the last answer was served as application/json
json_answer() { tr -d '\r' < "$HDRS" | grep -Eqi '^content-type: *application/json'; }
for q in 'limit=0' 'limit=abc' 'limit=-5' 'mode=bogus' 'before=-1' 'before=abc' 'unknown=1'; do
  api GET "/decisions?$q"
  check "/decisions?$q -> 400 with a JSON error and code bad_parameter (got $CODE)" \
    eval '[ "$CODE" = 400 ] && json_answer && [ "$(jpy "isinstance(d, dict) and bool(d.get(\"error\")) and d.get(\"code\") == \"bad_parameter\"" < "$BODY")" = true ]'
done
api GET '/decisions?limit=100000'
check "/decisions?limit=100000 -> 200, capped: limit 200, at most 200 items (got $CODE)" \
  eval '[ "$CODE" = 200 ] && [ "$(jpy "d.get(\"limit\") == 200 and len(rows(d)) <= 200" < "$BODY")" = true ]'
for path in /health /status /decisions /metrics/no-such /workflows/available; do
  api GET "$path"
  case $path in
    /metrics/*) check "GET $path -> 404 JSON error (got $CODE)" eval '[ "$CODE" = 404 ] && json_answer' ;;
    *) check "GET $path -> Content-Type application/json (got $CODE)" eval '[ "$CODE" = 200 ] && json_answer' ;;
  esac
done
api GET /metrics
check "GET /metrics -> Content-Type text/plain; version=0.0.4" \
  eval 'tr -d "\r" < "$HDRS" | grep -Eqi "^content-type: *text/plain; *version=0\.0\.4"'

# paging: limit, before and next_before walk the list newest first, without
# overlap or gap; mode filters
paging_ok() {
  local before="" page=0 got="" ids
  while [ $page -lt 50 ]; do
    api GET "/decisions?limit=3${before:+&before=$before}"
    [ "$CODE" = 200 ] || { note "page $page: HTTP $CODE"; return 1; }
    ids=$(jpy '" ".join(str(r["id"]) for r in rows(d))' < "$BODY")
    got="$got${got:+ }$ids"
    before=$(jpy 'd.get("next_before") or ""' < "$BODY")
    [ -n "$before" ] || break
    [ "$(jpy "len(rows(d)) == 3 and d['next_before'] == rows(d)[-1]['id']" < "$BODY")" = true ] ||
      { note "page $page: next_before is not the last id of a full page"; return 1; }
    page=$((page + 1))
  done
  local want
  want=$(tr '\n' ' ' < "$T/all-ids.txt" | sed 's/ $//')
  [ "$got" = "$want" ] || { note "paged ids: $got"; note "database: $want"; return 1; }
}
# stopped, so that no decision lands while paging; a cycle that began before
# the stop may still store its decision, and each API process refreshes its
# own cache: page until the database is the same before and after the pages
all_ids() { sql "SELECT id FROM decisions WHERE run_id IS NULL ORDER BY id DESC"; }
paging_stable() {
  all_ids > "$T/all-ids.txt"
  paging_ok && [ "$(all_ids)" = "$(cat "$T/all-ids.txt")" ]
}
post /control/stop -H "$(auth)"
wait_for 5 status_is 'd.get("running") is False' >/dev/null
if wait_for 20 paging_stable >/dev/null; then PAGING_OK=1; else PAGING_OK=0; paging_stable; fi
check "paging: limit=3 pages following next_before list every decision once, newest first ($(wc -l < "$T/all-ids.txt") decisions)" \
  test "$PAGING_OK" = 1
for m in crypto standby; do
  api GET "/decisions?mode=$m&limit=200"
  n_db=$(sql "SELECT count(*) FROM decisions WHERE run_id IS NULL AND mode = '$m'")
  check "/decisions?mode=$m: only $m decisions, as many as the database has (<= 200: $n_db)" \
    eval '[ "$CODE" = 200 ] && [ "$(jpy "all(r.get(\"mode\") == \"$m\" for r in rows(d)) and len(rows(d)) == min($n_db, 200)" < "$BODY")" = true ]'
done
post /control/start -H "$(auth)"
api GET /no-such-page
check "unknown path /no-such-page -> 404 (got $CODE)" test "$CODE" = 404
api GET /control/no-such-command
check "unknown API path /control/no-such-command -> 404 (got $CODE)" test "$CODE" = 404
api GET /control/start
check "GET /control/start -> 405 (got $CODE)" test "$CODE" = 405
api GET /workflows/available
wf_ok() {
  "$PYTHON" - "$BODY" "$(sql "SELECT coalesce(max(id), 0) FROM triggers WHERE workflow = 'crypto-normal-scan'")" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
last_id = int(sys.argv[2])
want = ["crypto-aggressive-scan", "crypto-normal-scan", "crypto-light-monitoring", "forex-london-session",
        "forex-newyork-session", "forex-asia-session", "health-monitor-check", "deep-market-analysis"]
wfs = {w.get("path"): w for w in d.get("workflows", [])}
bad = [p for p in want if p not in wfs] + [p for p in wfs if p not in want]
for p, w in wfs.items():
    for k in ("title", "market", "available", "last_run", "runs_24h"):
        if k not in w:
            bad.append("%s: no %s" % (p, k))
lr = (wfs.get("crypto-normal-scan") or {}).get("last_run") or {}
if lr.get("trigger_id") != last_id or not lr.get("status") or not lr.get("at"):
    bad.append("crypto-normal-scan last_run %r, want trigger %d with status and time" % (lr, last_id))
if (wfs.get("crypto-normal-scan") or {}).get("runs_24h", 0) < 1:
    bad.append("crypto-normal-scan runs_24h < 1")
for x in bad:
    print("# " + x)
sys.exit(1 if bad else 0)
EOF
}
# answers are cached (fcgi/cache.c, rebuilt every CACHE_TTL seconds at most)
# and the watch may add a trigger at any time: poll until both agree
wf_now() { api GET /workflows/available; [ "$CODE" = 200 ] && wf_ok >/dev/null; }
if wait_for 15 wf_now; then WF_OK=1; else WF_OK=0; wf_ok; fi
check "/workflows/available: the 8 workflows, crypto-normal-scan's last run is its newest trigger (got $CODE)" \
  test "$WF_OK" = 1

# ---- metrics and dashboard ----------------------------------------------------------------

api GET /metrics
cp "$BODY" "$T/metrics.txt"
check "/metrics -> 200 (got $CODE)" test "$CODE" = 200
promtool_out=$(promtool check metrics < "$T/metrics.txt" 2>&1)
promtool_rc=$?
[ -z "$promtool_out" ] || echo "$promtool_out" | sed 's/^/# promtool: /'
check "promtool check metrics: silent, exit 0 (exit $promtool_rc)" test "$promtool_rc" = 0 -a -z "$promtool_out"
missing=
for m in orchestrator_decisions_total orchestrator_successful_decisions orchestrator_success_rate \
         orchestrator_mode_switches_total orchestrator_system_load orchestrator_market_volatility \
         orchestrator_running api_health_dexscreener api_health_pump_fun api_health_tradermade api_health_birdeye; do
  grep -Eq "^$m(\{| )" "$T/metrics.txt" || missing="$missing $m"
done
check "seed metrics present${missing:+ (missing:$missing)}" test -z "$missing"

# ---- gzip for the clients that ask for it (browsers, Prometheus) ----------------------------
# The cached bodies are compressed once and their per-request values spliced
# in: the decoded answer must be the identity answer (same ids, same metric
# series), gzip must be strict (CRC and length checked by Python's gzip), and
# clients that do not ask, or refuse it with q=0, get plain text.

# gunzip_to FILE OUT: strict gzip decode of FILE into OUT
gunzip_to() { "$PYTHON" -c 'import gzip, sys; open(sys.argv[2], "wb").write(gzip.decompress(open(sys.argv[1], "rb").read()))' "$1" "$2" 2>/dev/null; }
gzip_answer() { [ "$(hdr Content-Encoding)" = gzip ] && hdr Vary | grep -qi 'accept-encoding'; }
# same_doc A B: the same JSON document but for the time-dependent members
same_doc() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
live = {"server_time", "heartbeat_age_seconds", "alive", "next_decision_in_seconds"}
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in live}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
try:
    a, b = (json.load(open(f)) for f in sys.argv[1:3])
except ValueError:
    sys.exit(1)
sys.exit(0 if strip(a) == strip(b) else 1)
EOF
}
# same_series A B: the same Prometheus series names
series() { grep -v '^#' "$1" | sed 's/[ ].*//' | sort; }
same_series() { [ "$(series "$1")" = "$(series "$2")" ]; }
# gz_agrees PATH SAME: read PATH plain, gzip and plain again; both plain
# answers agree and the gzip one decodes to them.  GZ_BAD / GZ_CE: a gzip
# answer that was not a valid gzip stream / a plain answer with a
# Content-Encoding, on any try (never forgiven by a later one).
gz_agrees() {
  local path=$1 same=$2
  GZ_TRIES=$((GZ_TRIES + 1))
  api GET "$path"; cp "$BODY" "$T/plain1.out"; [ -z "$(hdr Content-Encoding)" ] || GZ_CE=yes
  api GET "$path" -H 'Accept-Encoding: gzip, deflate, br'; cp "$BODY" "$T/gz.out"
  if ! { [ "$CODE" = 200 ] && gzip_answer && gunzip_to "$T/gz.out" "$T/gz.dec"; }; then GZ_BAD=yes; return 1; fi
  api GET "$path"; cp "$BODY" "$T/plain2.out"; [ -z "$(hdr Content-Encoding)" ] || GZ_CE=yes
  $same "$T/plain1.out" "$T/plain2.out" && $same "$T/plain1.out" "$T/gz.dec"
}
# The worker changes the state all the time (a heartbeat every second, the
# watch, deliveries) and each API process refreshes its own cache, so two
# reads may see two versions.  The worker is frozen (SIGSTOP) meanwhile: the
# database holds still, and once every API process has refreshed its cache
# (CACHE_TTL), a plain and a gzip read can only differ by a fault of gzip.
kill -STOP "${STACK_PID[worker]}"
for path in /status '/decisions?limit=50' /workflows/available /metrics; do
  case $path in /metrics) same=same_series ;; *) same=same_doc ;; esac
  GZ_TRIES=0 GZ_BAD=no GZ_CE=no
  if wait_for 20 gz_agrees "$path" "$same"; then matched=yes; else matched=no; fi
  check "GET $path with Accept-Encoding: gzip -> 200, Content-Encoding gzip, Vary, a valid gzip stream ($(wc -c < "$T/gz.out") of $(wc -c < "$T/plain1.out") bytes, $GZ_TRIES reads)" \
    test "$GZ_BAD" = no -a "$GZ_CE" = no
  check "gzip $path decodes to the plain answer (live values aside; $GZ_TRIES tries)" test "$matched" = yes
  if [ "$path" = /metrics ]; then
    pout=$(promtool check metrics < "$T/gz.dec" 2>&1); prc=$?
    [ -z "$pout" ] || echo "$pout" | sed 's/^/# promtool: /'
    check "gzip /metrics decodes to text promtool accepts (exit $prc)" test "$prc" = 0 -a -z "$pout"
  fi
done
kill -CONT "${STACK_PID[worker]}"
api GET /status -H 'Accept-Encoding: gzip;q=0, identity'
check "Accept-Encoding: gzip;q=0 -> plain JSON, no Content-Encoding" \
  eval '[ "$CODE" = 200 ] && [ -z "$(hdr Content-Encoding)" ] && is "isinstance(d, dict)" < "$BODY"'
api GET /health -H 'Accept-Encoding: gzip'
check "/health (small, never cached) stays plain with Accept-Encoding: gzip" \
  eval '[ "$CODE" = 200 ] && [ -z "$(hdr Content-Encoding)" ] && is "isinstance(d, dict)" < "$BODY"'
api GET /status --compressed
check "curl --compressed /status: decoded by libcurl into JSON with the worker's state" \
  eval '[ "$CODE" = 200 ] && [ "$(hdr Content-Encoding)" = gzip ] && is "\"worker\" in d and \"running\" in d" < "$BODY"'

api GET /
check "/ serves the dashboard HTML (got $CODE)" \
  eval '[ "$CODE" = 200 ] && grep -qi "content-type: text/html" "$HDRS" && grep -qi "<html" "$BODY"'
api GET /app.js
cc=$(tr -d '\r' < "$HDRS" | sed -n 's/^[Cc]ache-[Cc]ontrol: *//p')
check "/app.js cached for a short while at most (Cache-Control: $cc)" \
  eval '[ "$CODE" = 200 ] && echo "$cc" | grep -Eq "no-cache|max-age=([0-9]|[0-9][0-9]|[12][0-9][0-9]|300)(,|$)"'

# ---- stand-in failure cases ------------------------------------------------------------------

WORKFLOWS="crypto-aggressive-scan crypto-normal-scan crypto-light-monitoring forex-london-session
forex-newyork-session forex-asia-session health-monitor-check deep-market-analysis"
# n8n_all BEHAVIOUR: every webhook path behaves so
n8n_all() {
  local b=$1 js="" w
  for w in $WORKFLOWS; do js="$js${js:+,}\"n8n:$w\":\"$b\""; done
  standin_config "{\"behaviour\":{$js},\"slow_seconds\":4}"
}

n8n_all unregistered
if force_and_wait 15; then
  check "n8n webhook not registered -> triggers 'unavailable', http_status 404" all_triggers "$FORCED_ID" unavailable 404
else not_ok "n8n webhook not registered -> triggers 'unavailable', http_status 404"; fi

n8n_all 500
if force_and_wait 15; then
  check "n8n answers 500 -> triggers 'failed', http_status 500" all_triggers "$FORCED_ID" failed 500
else not_ok "n8n answers 500 -> triggers 'failed', http_status 500"; fi

n8n_all slow
if force_and_wait 20; then
  check "n8n slower than WEBHOOK_TIMEOUT_MS -> triggers 'failed' with a timeout error" \
    all_triggers "$FORCED_ID" failed '' 'time[d ]*out'
else not_ok "n8n slower than WEBHOOK_TIMEOUT_MS -> triggers 'failed' with a timeout error"; fi
n8n_all ok

# dex_bad REGEX: /status shows DexScreener unhealthy with an error matching REGEX
dex_bad() {
  status_is "not d['sources']['dexscreener']['ok'] and bool(re.search(r'$1', d['sources']['dexscreener'].get('error') or '', re.I))"
}
dex_good() { status_is 'd["sources"]["dexscreener"]["ok"] is True'; }
# the error of each case must be its own, not the previous case's
for b in malformed timeout; do
  case $b in malformed) re='^(?!.*time).+';; timeout) re='time';; esac
  standin_config "{\"behaviour\":{\"dex\":\"$b\"}}"
  before=$(last_decision)
  force >/dev/null
  if wait_for 15 dex_bad "$re"; then
    ok "DexScreener $b -> /status sources.dexscreener.ok false with an error ($(jpy 'd["sources"]["dexscreener"].get("error")' < "$BODY" | head -c 80))"
  else
    not_ok "DexScreener $b -> /status sources.dexscreener.ok false with an error (last: $(jpy 'd.get("sources")' < "$BODY" | head -c 400))"
  fi
  decided() { [ "$(last_decision)" -gt "$before" ]; }
  check "the worker keeps deciding with DexScreener $b" wait_for 15 decided
  standin_config '{"behaviour":{"dex":"ok"}}'
  force >/dev/null
  check "DexScreener back to ok -> sources.dexscreener.ok true" wait_for 15 dex_good
done

# the other market sources: every failure is shown with its own error and
# HTTP status, and the worker keeps deciding
# src_bad SOURCE HTTP REGEX: /status shows SOURCE unhealthy, http_status HTTP ('' any), error ~ REGEX
src_bad() {
  status_is "not d['sources']['$1']['ok'] and ('$2' == '' or d['sources']['$1'].get('http_status') == int('${2:-0}')) and bool(re.search(r'$3', d['sources']['$1'].get('error') or '', re.I))"
}
standin_config '{"slow_seconds":4}' >/dev/null
for c in 'tradermade 500 500 .' 'tradermade malformed 200 (malformed|JSON|truncated)' \
         'pumpfun 404 404 .' 'birdeye slow - time' 'tradermade empty 200 .'; do
  set -- $c
  src=$1 b=$2 hs=$3 re=$4
  [ "$hs" = - ] && hs=
  standin_config "{\"behaviour\":{\"$src\":\"$b\"}}"
  before=$(last_decision)
  force >/dev/null
  if wait_for 15 src_bad "$src" "$hs" "$re"; then
    ok "$src answering $b -> /status sources.$src.ok false${hs:+, http_status $hs}, error: $(jpy "d['sources']['$src'].get('error')" < "$BODY" | head -c 70)"
  else
    not_ok "$src answering $b -> /status sources.$src.ok false (last: $(jpy "d['sources'].get('$src')" < "$BODY" | head -c 300))"
  fi
  decided() { [ "$(last_decision)" -gt "$before" ]; }
  check "the worker keeps deciding with $src answering $b" wait_for 15 decided
  if [ "$src" = pumpfun ]; then standin_config '{"behaviour":{"pumpfun":"blocked"}}'
  else standin_config "{\"behaviour\":{\"$src\":\"ok\"}}"; fi
done

# ---- control without a configured token ----------------------------------------------------------

stack_kill api 5
ORCHESTRATOR_API_TOKEN= stack_start_api 2 || not_ok "orch-api restarted without ORCHESTRATOR_API_TOKEN"
post /control/force-decision -H "$(auth)"
check "no ORCHESTRATOR_API_TOKEN: POST /control/force-decision -> 503 control_disabled, even with a token (got $CODE)" \
  eval '[ "$CODE" = 503 ] && json_answer && [ "$(jpy "d.get(\"code\") == \"control_disabled\" and \"ORCHESTRATOR_API_TOKEN\" in d.get(\"error\", \"\")" < "$BODY")" = true ]'
check "the API log says control is disabled" grep -q 'ORCHESTRATOR_API_TOKEN' "$T/log/api.log"
api GET /status
check "no ORCHESTRATOR_API_TOKEN: reading still works (/status $CODE)" test "$CODE" = 200
stack_kill api 5
stack_start_api 2 || bail "orch-api restarted with its token"
post /control/force-decision -H "$(auth)"
check "token back: POST /control/force-decision -> 202 (got $CODE)" test "$CODE" = 202

# ---- LLM ------------------------------------------------------------------------------------------------

# decision_by SOURCE AFTER: a decision newer than AFTER with that source (via the API)
decision_by() {
  api GET "/decisions?limit=20"
  [ "$CODE" = 200 ] || return 1
  FOUND=$(jpy "[r for r in rows(d) if r.get('source') == '$1' and int(r.get('id', 0)) > $2][:1]" < "$BODY")
  [ "$FOUND" != "[]" ]
}
recent() { jpy '[(r.get("id"), r.get("source"), r.get("reason", "")[:60]) for r in rows(d)][:3]' < "$BODY"; }
if wait_for 15 decision_by llm 0; then ok "the LLM decides (a decision with source 'llm')"
else not_ok "the LLM decides (a decision with source 'llm'): $(recent)"; fi
standin_config '{"behaviour":{"llm":"500"}}'
before=$(last_decision)
if wait_for 20 decision_by fallback "$before"; then
  ok "the LLM answering 500 -> the fallback policy decides ($(echo "$FOUND" | jpy 'd[0].get("reason", "")[:60]'))"
else
  not_ok "the LLM answering 500 -> the fallback policy decides: $(recent)"
fi
standin_config '{"behaviour":{"llm":"ok"}}'

# ---- SIGTERM, dry run --------------------------------------------------------------------------

stack_stop_worker TERM
check "SIGTERM stops the worker with exit status 0 (got $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0
last_line=$(tail -n 1 "$T/log/worker.log")
check "the worker's last log line says it stopped: $(echo "$last_line" | head -c 160)" \
  eval 'echo "$last_line" | jpy "d.get(\"event\") in (\"worker.stop\", \"worker.stopped\", \"worker.exit\")" | grep -qx true'

hooks_before=$(standin_hooks | jpy 'len(d)')
N8N_BASE_URL="" stack_start_worker || not_ok "dry-run worker started"
check "/status dry_run true without N8N_BASE_URL" wait_for 10 status_is 'd.get("dry_run") is True'
dry_triggers() {
  [ "$(sql "SELECT count(*) FROM triggers WHERE decision_id = $FORCED_ID")" -gt 0 ] || return 1
  all_triggers "$FORCED_ID" dry_run >/dev/null
}
before=$(last_decision)
code=$(force)
if [ "$code" = 202 ] && wait_for 10 forced_after "$before" && wait_for 5 dry_triggers; then
  ok "dry run: the forced decision's triggers are recorded as 'dry_run'"
else
  not_ok "dry run: the forced decision's triggers are recorded as 'dry_run' (force $code, decision ${FORCED_ID:-none})"
  [ -n "${FORCED_ID:-}" ] && trigger_rows "$FORCED_ID" | sed 's/^/#   /'
fi
sleep 1                 # what is tested: no webhook comes, not even late
hooks_after=$(standin_hooks | jpy 'len(d)')
check "dry run: the stand-in received no webhook ($hooks_before before, $hooks_after after)" test "$hooks_after" = "$hooks_before"
stack_stop_worker TERM
check "the dry-run worker stops with exit status 0 (got $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0

# ---- valgrind ----------------------------------------------------------------------------------------

if [ "${E2E_VALGRIND:-0}" = 1 ]; then
  if grep -q '^SAN_CFLAGS *= *-fsanitize' "$top_builddir/Makefile" 2>/dev/null; then
    note "E2E_VALGRIND=1 ignored: the build uses the sanitizers"
  elif ! command -v valgrind >/dev/null 2>&1; then
    not_ok "valgrind installed"
  else
    before=$(last_decision)
    N8N_BASE_URL=$N8N timeout 300 valgrind -q --error-exitcode=1 --leak-check=full \
      --track-origins=yes \
      "$ORCH_WORKER_BIN" --once >>"$T/log/valgrind.log" 2>&1
    vrc=$?
    check "one worker cycle (--once) under valgrind: no errors, no leaks (exit $vrc)" test "$vrc" = 0
    check "the valgrind cycle recorded a decision" test "$(last_decision)" -gt "$before"
    [ "$vrc" = 0 ] || grep -E '==[0-9]+==' "$T/log/valgrind.log" | head -n 40 | sed 's/^/#   /'
  fi
fi

# ---- secrets -------------------------------------------------------------------------------------------

leaks=$(grep -rlF -e "$TOKEN" -e "$TM_KEY" -e "$BE_KEY" -e "$LLM_KEY" --exclude=standin.log "$T/log" "$T/answers" | sed "s|^$T/||" | tr '\n' ' ')
check "no secret (API token, TRADERMADE_API_KEY, BIRDEYE_API_KEY, LLM_API_KEY) in any log or API answer${leaks:+ (found in: $leaks)}" test -z "$leaks"
