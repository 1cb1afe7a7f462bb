#!/usr/bin/env bash
# End-to-end test of issue 10: no input from outside stops a decision.
#
# The real PostgreSQL, nginx, orch-api and orch-worker, with every outside
# service played by tests/standin/standin.py: DexScreener, Pump.fun,
# TraderMade, Birdeye, the LLM, n8n (webhooks, its public API) and
# Telegram (sendMessage, and the getUpdates long poll of the chat's
# commands).  Phase by phase every one of them answers with one kind of
# hostile answer (the stand-in's HOSTILE behaviours: huge numbers,
# non-finite numbers, wrong types, bytes that are not UTF-8, control
# characters, deep nesting, a cut connection, a gigantic body) while the
# worker runs.  In every phase: decisions keep being recorded, /health
# stays ok, and every market source whose answer is nonsense shows
# ok false with the reason in /status.  After the last phase the services
# answer normally again and the sources recover.  Also: the security
# headers of the dashboard and of the API (Content-Security-Policy with no
# inline script, X-Frame-Options, X-Content-Type-Options, Referrer-Policy),
# and that www/ has no inline script or event handler.
#
# Run by `make check`; by hand:  top_builddir=/path/to/build bash tests/e2e/e2e_hostile.sh
# Environment: KEEP_TMP=1 keeps the state directory.  Output: `ok - ...` /
# `not ok - ...` lines, then `N passed, N failed`; exit 0 when nothing failed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_hostile
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

SOURCES="dexscreener pumpfun tradermade birdeye"

# ---- the dashboard's files: no inline script ------------------------------------------

inline=$(grep -nE '<script(\s[^>]*)?>[^<]*[^<[:space:]][^<]*</script>|<script>|\son[a-z]+\s*=|javascript:' \
           "$top_srcdir"/www/*.html 2>/dev/null | grep -v 'src=' || true)
if [ -z "$inline" ]; then ok "www/*.html: no inline script, event handler or javascript: URL"
else not_ok "www/*.html: inline script or handler: $inline"; fi
if grep -nE 'eval\(|new Function\(|setTimeout\(["'\'']|setInterval\(["'\'']|\.innerHTML\s*=|insertAdjacentHTML|document\.write' \
     "$top_srcdir"/www/*.js >/dev/null; then
  not_ok "www/*.js: no eval, string timers, innerHTML or document.write"
else
  ok "www/*.js: no eval, string timers, innerHTML or document.write"
fi

# ---- start ------------------------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built ($ORCH_WORKER_BIN, $ORCH_API_BIN)"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
TOKEN=$(rnd 24)
LLM_KEY=llm-$(rnd 6) N8N_KEY=n8n-$(rnd 6) TG_TOKEN=123456:$(rnd 12)
RESULTS_TOKEN=res-$(rnd 8)
export ORCHESTRATOR_API_TOKEN=$TOKEN ORCH_RESULTS_TOKEN=$RESULTS_TOKEN LOG_LEVEL=info
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=test-tm-key
export BIRDEYE_BASE_URL=$SA/birdeye BIRDEYE_API_KEY=be-$(rnd 4)
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=8 HEARTBEAT_SECONDS=1
export PROBE_TIMEOUT_MS=2500 WEBHOOK_TIMEOUT_MS=2500
export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=$LLM_KEY LLM_TIMEOUT_MS=2500 LLM_CYCLE_BUDGET_MS=4000
export LLM_MAX_CALLS_PER_HOUR=4000 LLM_BREAKER_FAILURES=100
export N8N_BASE_URL=$SA/n8n N8N_API_KEY=$N8N_KEY
export TRACK_POLL_SECONDS=1 TRACK_TIMEOUT_SECONDS=60 N8N_WORKFLOWS_REFRESH_SECONDS=5
export WEBHOOK_MAX_ATTEMPTS=2 WEBHOOK_RETRY_BASE_MS=200 WEBHOOK_RETRY_MAX_MS=1000
export WORKFLOW_BREAKER_FAILURES=100
export TELEGRAM_BOT_TOKEN=$TG_TOKEN TELEGRAM_CHAT_ID=42 TELEGRAM_BASE_URL=$SA/telegram
LLM_ANSWER='{"mode":"crypto","intensity":"light","workflows":["crypto-light-monitoring","health-monitor-check"],"next_decision_seconds":5,"reason":"e2e hostile: a light scan and a health check","confidence":0.5}'
STANDIN_CFG="{\"llm_key\":\"$LLM_KEY\",\"llm_content\":$LLM_ANSWER,\"n8n_respond\":\"accepted\",
  \"n8n_api_key\":\"$N8N_KEY\",\"telegram_token\":\"$TG_TOKEN\",\"llm_remaining_requests\":null,
  \"behaviour\":{\"pumpfun\":\"ok\"}}"
standin_config "$STANDIN_CFG" || bail "stand-in configured"

stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
stack_start_worker || bail "orch-worker started"
ok "PostgreSQL, stand-in (every service), orch-api behind nginx and the worker started"

health_ok() {
  api GET /health
  [ "$CODE" = 200 ] && is "d.get('status') == 'ok' and (d.get('worker') or {}).get('alive') is True" < "$BODY"
}
healthy() { status_is "d['sources']['$1']['ok'] is True"; }
all_healthy() { local s; for s in $SOURCES; do healthy "$s" || return 1; done; }
check "/health ok with the worker alive" wait_for 30 health_ok
check "every market source healthy with normal answers" wait_for 30 all_healthy

# ---- security headers ---------------------------------------------------------------------

# sec_headers WHAT: the last answer carries the four headers, the CSP strict
sec_headers() {
  local csp xfo nosniff ref
  csp=$(hdr Content-Security-Policy) xfo=$(hdr X-Frame-Options)
  nosniff=$(hdr X-Content-Type-Options) ref=$(hdr Referrer-Policy)
  if [ -n "$csp" ] && ! grep -qiE "unsafe-inline|unsafe-eval|\*" <<<"$csp" &&
     grep -qE "default-src 'none'" <<<"$csp" && grep -qE "frame-ancestors 'none'" <<<"$csp" &&
     [ "$xfo" = DENY ] && [ "$nosniff" = nosniff ] && [ "$ref" = no-referrer ]; then
    ok "$1: CSP '$csp', X-Frame-Options DENY, nosniff, Referrer-Policy no-referrer"
  else
    not_ok "$1: security headers (CSP '$csp', X-Frame-Options '$xfo', X-Content-Type-Options '$nosniff', Referrer-Policy '$ref')"
  fi
}
api GET /
[ "$CODE" = 200 ] || not_ok "GET / -> HTTP $CODE"
sec_headers "the dashboard (/)"
grep -qE "script-src 'self'" <<<"$(hdr Content-Security-Policy)" && ok "dashboard CSP: scripts from 'self' only" ||
  not_ok "dashboard CSP lacks script-src 'self'"
for f in app.js style.css index.html no-such-file; do
  api GET "/$f"
  sec_headers "GET /$f (HTTP $CODE)"
done
for p in /status /health "/decisions?limit=2" /metrics "/decisions?limit=oops" /nope; do
  api GET "$p"
  sec_headers "GET $p (HTTP $CODE)"
done
api GET /status -H 'Accept-Encoding: gzip'
sec_headers "API GET /status gzip"

# ---- POST /results with bytes that are not UTF-8 -------------------------------------------

# results_bad LABEL FILE: POST FILE to /results: 400 bad_parameter, and the
# answer itself valid UTF-8 JSON without control characters
results_bad() {
  api POST /results -H "Authorization: Bearer $RESULTS_TOKEN" -H 'Content-Type: application/json' \
    --data-binary "@$2"
  if [ "$CODE" = 400 ] && "$PYTHON" -c 'import json, sys
t = open(sys.argv[1], "rb").read().decode("utf-8")
d = json.loads(t)
assert d["code"] == "bad_parameter" and not any(ord(c) < 32 for c in d["error"])' "$BODY" 2>/dev/null; then
    ok "POST /results $1 -> 400, answer valid UTF-8: $(head -c 120 "$BODY")"
  else
    not_ok "POST /results $1 -> HTTP $CODE $(head -c 200 "$BODY" | od -c | head -n 3 | tr -s ' ')"
  fi
}
R='{"trigger_id":1,"idempotency_key":"orch-1-crypto-normal-scan","decision_id":1,"workflow":"crypto-normal-scan","execution_id":"4","status":"error","opportunities":0,"duration_ms":5'
printf '%s,"error":"EU\xc5 failed"}' "$R" > "$T/r1.json"
printf '%s,"details":{"k\xff\xfe":1}}' "$R" > "$T/r2.json"
printf '{"\xc3\xa9\\u0001\\u001b[31m":1}' > "$T/r3.json"
results_bad "with bytes that are not UTF-8 in error" "$T/r1.json"
results_bad "with bytes that are not UTF-8 in a details key" "$T/r2.json"
results_bad "with an unknown field holding control characters" "$T/r3.json"

# ---- hostile phases ---------------------------------------------------------------------

# unhealthy SRC REGEX: /status shows SRC ok false with an error matching REGEX
unhealthy() {
  status_is "d['sources']['$1']['ok'] is False and bool(re.search(r'''$2''', d['sources']['$1'].get('error') or '', re.I))"
}
# decided_since ID N: at least N decisions newer than ID
decided_since() { [ "$(sql "SELECT count(*) FROM decisions WHERE id > $1 AND run_id IS NULL")" -ge "$2" ]; }

# expectations per phase: the sources whose answers are nonsense, and what
# their error must say; the others only have to go on deciding
declare -A WHY=(
  [huge]='refused|range'
  [nonfinite]='refused|malformed|range'
  [wrong_types]='refused|not a number|no coin|no usable|success|timestamp'
  [not_utf8]='currency|no usable'
  [control]='currency|no usable'
  [deep]='malformed|depth|nest'
  [cut]='.'
  [gigantic]='larger|large'
)
declare -A BAD=(
  [huge]="$SOURCES" [nonfinite]="$SOURCES" [wrong_types]="$SOURCES"
  [not_utf8]="tradermade" [control]="tradermade"
  [deep]="$SOURCES" [cut]="$SOURCES" [gigantic]="$SOURCES"
)
for w in huge nonfinite wrong_types not_utf8 control deep cut gigantic; do
  before=$(last_decision)
  beh=$(printf '"%s":"%s",' dex "$w" pumpfun "$w" tradermade "$w" birdeye "$w" n8n "$w" llm "$w" telegram "$w" telegram:updates "$w")
  standin_config "{\"behaviour\":{${beh%,}}}" || bail "stand-in: behaviour $w"
  t0=$(date +%s)
  # two decisions: the first may have begun before the change, the second
  # sensed the hostile answers from its start
  if wait_for 45 decided_since "$before" 2; then
    ok "$w: decisions keep being recorded ($(sql "SELECT count(*) FROM decisions WHERE id > $before") in $(( $(date +%s) - t0 )) s)"
  else
    not_ok "$w: decisions keep being recorded (only $(sql "SELECT count(*) FROM decisions WHERE id > $before") in 45 s)"
  fi
  check "$w: /health ok" health_ok
  for s in ${BAD[$w]}; do
    if wait_for 20 unhealthy "$s" "${WHY[$w]}"; then
      ok "$w: $s unhealthy: $(jpy "d['sources']['$s'].get('error')" < "$BODY" | head -c 100)"
    else
      api GET /status
      not_ok "$w: $s unhealthy with a reason matching /${WHY[$w]}/ (got: $(jpy "d['sources']['$s']" < "$BODY" | head -c 200))"
    fi
  done
  for s in $SOURCES; do
    case " ${BAD[$w]} " in *" $s "*) continue ;; esac
    check "$w: $s still healthy (its text cleaned, its numbers sane)" healthy "$s"
  done
  # what was stored is what PostgreSQL accepted: valid UTF-8, finite numbers
  check "$w: the decisions' inputs hold no Infinity or NaN" \
    test "$(sql "SELECT count(*) FROM decisions WHERE id > $before AND inputs::text ~ '(Infinity|NaN)'")" = 0
  stack_alive worker || bail "$w: the worker is still running"
done

# ---- back to normal -----------------------------------------------------------------------

curl -s -o /dev/null -X POST --max-time 5 "$SA/_standin/reset"
standin_config "$STANDIN_CFG" || bail "stand-in configured again"
check "normal answers again: every market source recovers" wait_for 45 all_healthy
before=$(last_decision)
check "and decisions go on" wait_for 30 decided_since "$before" 2
# the chat's commands too: the poller backed off the nonsense, and answers again
tg_before=$(curl -s --max-time 5 "$SA/_standin/telegram/messages" | jpy 'len(d)')
curl -s -o /dev/null --max-time 5 -H 'Content-Type: application/json' --data-binary '{"chat_id":42,"text":"/status"}' \
  "$SA/_standin/telegram/updates"
tg_answered() { curl -s --max-time 5 "$SA/_standin/telegram/messages" | jpy "any(m['plain'].startswith('Running') for m in d[$tg_before:])" | grep -qx true; }
check "and /status from the chat is answered again (the poller was not stopped by hostile getUpdates answers)" \
  wait_for 70 tg_answered
check "/health ok at the end" health_ok
# nothing from outside made PostgreSQL refuse a write (text not UTF-8, a
# number it cannot store): every refusal would be a lost record
refused=$(grep -c '"event":"store.failed"' "$T/log/worker.log")
if [ "$refused" = 0 ]; then ok "no write refused by PostgreSQL (store.failed) in the worker's log"
else not_ok "no write refused by PostgreSQL: $refused store.failed, e.g. $(grep -m1 '"event":"store.failed"' "$T/log/worker.log" | head -c 300)"; fi
if grep -q 'AddressSanitizer\|runtime error' "$T/log/worker.log" "$T/log/api.log"; then
  not_ok "no sanitizer report in the worker's and the API's logs"
else
  ok "no sanitizer report in the worker's and the API's logs"
fi
if python3 -c 'import sys
for f in sys.argv[1:]:
    open(f, "rb").read().decode("utf-8")' "$T/log/worker.log" 2>/dev/null; then
  ok "the worker's log is valid UTF-8 (hostile text cleaned before it is logged)"
else
  not_ok "the worker's log is valid UTF-8"
fi
# ---- a write refused for its content ---------------------------------------------------------
# Defence in depth: should PostgreSQL still refuse a decision for what it
# holds, the worker records it without the offending parts (inputs, menu,
# raw answer, market context), says why once per decision, and goes on,
# without reconnecting.  A fault-injection build refuses on purpose
# (ORCH_FAULT_SOFT=store.refuse_inputs: the inputs sent are not JSON).
if "$ORCH_WORKER_BIN" --version | grep -q fault-injection; then
  stack_stop_worker TERM
  connects0=$(grep -c '"event":"db.connected"' "$T/log/worker.log")
  ORCH_FAULT_SOFT=store.refuse_inputs stack_start_worker || bail "orch-worker restarted refusing its inputs"
  before=$(last_decision)
  refused_recorded() {
    [ "$(sql "SELECT count(*) FROM decisions WHERE id > $before AND inputs ? 'refused'
                AND reason LIKE '%stored without its inputs%'")" -ge 2 ]
  }
  check "a decision PostgreSQL refuses is recorded without its inputs, with why (twice in a row)" wait_for 45 refused_recorded
  check "its triggers were sent with a payload saying so, without the market context" \
    test "$(sql "SELECT count(*) FROM triggers t JOIN decisions d ON d.id = t.decision_id
                  WHERE d.id > $before AND t.payload->>'stored_without_inputs' = 'true' AND NOT t.payload ? 'market'
                    AND t.status IN ('sent','unknown','retrying','failed')")" -ge 1
  n_refused=$(grep -c '"event":"store.content_refused"' "$T/log/worker.log")
  n_dec=$(sql "SELECT count(*) FROM decisions WHERE id > $before")
  check "logged once per decision ($n_refused store.content_refused for $n_dec decisions)" \
    test "$n_refused" -ge 1 -a "$n_refused" -le "$((n_dec + 1))"
  check "no reconnect for a refusal that is not a connection error ($(grep -c '"event":"db.connected"' "$T/log/worker.log") connections, $connects0 before)" \
    test "$(grep -c '"event":"db.connected"' "$T/log/worker.log")" -le "$((connects0 + 1))"
  check "/health ok while writes are refused" health_ok
  stack_stop_worker TERM
  stack_start_worker || bail "orch-worker restarted"
else
  note "not a fault-injection build: the refused-write check is skipped"
fi

if grep -qF "$TG_TOKEN" "$T/log/worker.log" || grep -qF "$LLM_KEY" "$T/log/worker.log"; then
  not_ok "no secret in the worker's log"
else
  ok "no secret in the worker's log"
fi
