#!/usr/bin/env bash
# End-to-end test of the LLM path: the real PostgreSQL, nginx, orch-api and
# orch-worker, with tests/standin/standin.py answering as Groq and OpenAI
# (OpenAI-compatible chat completions at /llm, x-ratelimit-* headers
# included) and as the market data sources and n8n.  Every check goes
# through nginx with curl, except where the stand-in's request log or the
# database is the thing checked.
#
# Phase 1 (LLM_MAX_CALLS_PER_HOUR=1): the worker's first decision comes from
# the LLM, with its audit; a forced second decision is refused by the budget
# without calling the stand-in.  Phase 2 (worker restarted, stopped, driven
# by POST /control/force-decision and followed with GET
# /control/commands/{id}): an answer outside the menu is rejected, 500 is
# retried, json_validate_failed is retried once, fenced answers are
# accepted, 429 with a long retry-after fails over to OpenAI, timeouts fall
# back within the cycle budget and open the circuit.  Then /status, /metrics
# (promtool) and the secrets.
#
# Run by `make check` (top_srcdir, top_builddir and SHARED_DATA set by
# Makefile.am); by hand:  top_builddir=/path/to/build bash tests/e2e/e2e_llm.sh
# Environment: KEEP_TMP=1 keeps the state directory (logs, database).
# Output: one `ok - ...` / `not ok - ...` line per check, then
# `N passed, N failed`.  Exit 0 when nothing failed, else 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_llm
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

# standin POST|GET PATH [JSON]: talk to the stand-in's control API
standin() {
  curl -s --max-time 5 -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$SA$2"
}
# llm_count: completions requests the stand-in received since its last reset
llm_count() { standin GET '/_standin/requests/count?prefix=/llm/' | jpy 'd["count"]'; }

# The stand-in's configuration for every scenario: forex is off (TraderMade
# quotes stale), so no fallback decision may start a forex workflow and the
# menu does not depend on the time of day; the LLM answers a valid crypto
# decision unless the scenario says otherwise.
GOOD='{"mode":"crypto","intensity":"normal","workflows":["crypto-normal-scan"],"next_decision_seconds":60,"reason":"e2e: the stand-in LLM chose a normal crypto scan"}'
BASE_CFG='"tradermade_key":"test-tm-key","stale":true,"timeout_seconds":30,"retry_after":60'
# scenario JSON-MEMBERS: reset the stand-in (requests, counters, rate-limit
# headers), then apply the base configuration plus these members
scenario() {
  local out
  standin POST /_standin/reset >/dev/null
  out=$(standin POST /_standin/config "{$BASE_CFG,\"llm_content\":$GOOD${1:+,$1}}")
  echo "$out" | is 'isinstance(d, dict) and "error" not in d' || { note "stand-in config $1: $out"; return 1; }
}

# force: POST /control/force-decision, then follow the command with
# GET /control/commands/{id} until the worker has processed it.  Sets
# CMD_ID, DECISION (its decision id) and FORCE_MS (time until done).
force() {
  local t0 st
  DECISION= CMD_ID=
  t0=$(date +%s%N)
  api POST /control/force-decision --data-binary '' -H "$(auth)"
  [ "$CODE" = 202 ] || { note "force-decision -> HTTP $CODE $(head -c 200 "$BODY")"; return 1; }
  CMD_ID=$(jpy 'd["command_id"]' < "$BODY")
  command_done() {
    api GET "/control/commands/$CMD_ID" -H "$(auth)"
    [ "$CODE" = 200 ] || return 1
    st=$(jpy 'd["status"]' < "$BODY")
    [ "$st" != pending ]
  }
  wait_for 25 command_done || { note "command #$CMD_ID still pending (HTTP $CODE $(head -c 200 "$BODY"))"; return 1; }
  FORCE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  DECISION=$(jpy 'd["decision_id"]' < "$BODY")
  [ "$st" = done ] && [ -n "$DECISION" ] && [ "$DECISION" != null ] ||
    { note "command #$CMD_ID: $(cat "$BODY")"; return 1; }
  # the full decision, for the checks
  api GET "/decisions/$DECISION"
  cp "$BODY" "$T/decision-$DECISION.json"
  DJSON=$T/decision-$DECISION.json
  [ "$CODE" = 200 ]
}
# dq EXPR: EXPR over the last forced decision (d)
dq() { jpy "$1" < "$DJSON"; }
# dis EXPR: EXPR is true over the last forced decision
dis() { [ "$(dq "$1")" = true ]; }
# outcomes: the outcomes of its LLM calls, "provider:outcome:http" space separated
outcomes() { dq '" ".join("%s:%s:%s" % (c["provider"], c["outcome"], c["http_status"]) for c in d["audit"]["llm_calls"])'; }
describe() { note "decision #$DECISION: outcome $(dq 'd["audit"]["llm_outcome"]') ($(dq 'd["audit"]["llm_detail"]')), calls: $(outcomes)"; }

# ---- start -----------------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] ||
  bail "binaries built ($ORCH_WORKER_BIN, $ORCH_API_BIN)"
PROMPT=$top_srcdir/worker/prompt.txt
[ -f "$PROMPT" ] || bail "prompt template $PROMPT present"
PROMPT_HASH=$(sha256sum "$PROMPT" | cut -d' ' -f1)
PROMPT_VERSION=$(sed -n '1s/^version: *//p' "$PROMPT" | tr -d '\r')

PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
ok "PostgreSQL started and migrated"

standin_start --record "$T/standin-requests.jsonl"
scenario '' || bail "stand-in configured"
ok "stand-in listening on $SA"

TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
GROQ_KEY=gsk_e2e$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
OPENAI_KEY=sk-e2e$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export ORCHESTRATOR_API_TOKEN=$TOKEN LOG_LEVEL=${LOG_LEVEL:-info}
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=test-tm-key
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=120 HEARTBEAT_SECONDS=1
export PROBE_TIMEOUT_MS=1500 WEBHOOK_TIMEOUT_MS=2000 N8N_BASE_URL=$SA/n8n
export GROQ_API_KEY=$GROQ_KEY GROQ_BASE_URL=$SA/llm/openai/v1 GROQ_MODEL=llama-3.3-70b-versatile
export OPENAI_API_KEY=$OPENAI_KEY OPENAI_BASE_URL=$SA/llm/v1 OPENAI_MODEL=gpt-4o-mini
export LLM_PROMPT_FILE=$PROMPT LLM_TIMEOUT_MS=1500 LLM_CYCLE_BUDGET_MS=4000

stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do
  port=$(stack_free_port)
  stack_start_nginx "$port" && break
done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
ok "orch-api (2 processes) behind nginx on $BASE"

# ---- phase 1: an LLM decision and its audit; the calls-per-hour budget ---------------

LLM_MAX_CALLS_PER_HOUR=1 stack_start_worker || bail "orch-worker started (LLM_MAX_CALLS_PER_HOUR=1)"

llm_decision() {
  api GET '/decisions?limit=5'
  [ "$CODE" = 200 ] || return 1
  FIRST=$(jpy '([r["id"] for r in d["decisions"] if r["source"] == "llm"] or [""])[0]' < "$BODY")
  [ -n "$FIRST" ]
}
if wait_for 20 llm_decision; then
  ok "a decision with source llm appears in /decisions (#$FIRST)"
else
  bail "a decision with source llm appears in /decisions (last: HTTP $CODE $(head -c 400 "$BODY"))"
fi
api POST /control/stop --data-binary '' -H "$(auth)"
check "POST /control/stop -> 202 (got $CODE); the rest is driven by force-decision" test "$CODE" = 202

cp "$BODY" "$T/stop.json"
api GET '/decisions?limit=5'
cp "$BODY" "$T/page.json"
row="[r for r in d['decisions'] if r['id'] == $FIRST][0]"
pis() { [ "$(jpy "$1" < "$T/page.json")" = true ]; }
check "list page: audit with outcome ok, provider groq, model, prompt version $PROMPT_VERSION" \
  pis "(lambda a: a['llm_outcome'] == 'ok' and a['llm_detail'] == 'accepted' and a['provider'] == 'groq' and a['model'] == 'llama-3.3-70b-versatile' and a['prompt_version'] == '$PROMPT_VERSION')($row['audit'])"
check "list page: audit.prompt_hash is the SHA-256 of worker/prompt.txt ($PROMPT_HASH)" \
  pis "$row['audit']['prompt_hash'] == '$PROMPT_HASH'"
check "list page: token counts, latency, shadow choice and agreement recorded" \
  pis "(lambda a: a['prompt_tokens'] > 0 and a['completion_tokens'] > 0 and isinstance(a['latency_ms'], int) and isinstance(a['shadow'], dict) and a['shadow'].get('mode') in ('crypto','standby') and isinstance(a['agreement'], bool))($row['audit'])"
check "list page: the LLM call (groq, HTTP 200, ok) is listed with the decision" \
  pis "[(c['provider'], c['http_status'], c['outcome']) for c in $row['audit']['llm_calls']] == [('groq', 200, 'ok')]"
check "list page is light: no inputs, menu or raw_output unless ?detail=1" \
  pis "all('inputs' not in r and 'menu' not in r and 'raw_output' not in r['audit'] for r in d['decisions']) and d.get('detail') is False"
api GET '/decisions?limit=5&detail=1'
check "?detail=1: items carry inputs, menu and audit.raw_output (HTTP $CODE)" \
  eval '[ "$CODE" = 200 ] && is "all(\"inputs\" in r and \"menu\" in r and \"raw_output\" in r[\"audit\"] for r in d[\"decisions\"]) and d[\"detail\"] is True" < "$BODY"'
api GET "/decisions/$FIRST"
cp "$BODY" "$T/first.json"
raw_is_answer() {
  "$PYTHON" - "$T/first.json" "$GOOD" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ok = (d["id"] > 0 and d["source"] == "llm" and isinstance(d["inputs"], dict) and isinstance(d["menu"], dict)
      and json.loads(d["audit"]["raw_output"]) == json.loads(sys.argv[2]))
sys.exit(0 if ok else 1)
EOF
}
check "GET /decisions/$FIRST -> 200 (got $CODE): inputs, menu and the model's raw output (the stand-in's answer, as data)" \
  eval '[ "$CODE" = 200 ] && raw_is_answer'
check "the decision's reason is the LLM's" is "d['reason'].startswith('llm: e2e: the stand-in LLM')" < "$T/first.json"

stopped() { api GET /status; [ "$CODE" = 200 ] && is 'd["running"] is False' < "$BODY"; }
wait_for 5 stopped
n0=$(llm_count)
if force; then
  describe
  check "LLM_MAX_CALLS_PER_HOUR=1: the second decision falls back with outcome budget" \
    dis "d['audit']['llm_outcome'] == 'budget' and 'LLM_MAX_CALLS_PER_HOUR' in (d['audit']['llm_detail'] or '') and d['audit']['llm_calls'] == [] and 'fallback (llm budget)' in d['reason']"
  check "no LLM request reached the stand-in for it ($n0 before, $(llm_count) after)" test "$(llm_count)" = "$n0"
else
  not_ok "LLM_MAX_CALLS_PER_HOUR=1: the second decision falls back with outcome budget"
fi

# ---- phase 2: failures, through force-decision -----------------------------------------

stack_stop_worker TERM
check "the phase 1 worker stops with exit status 0 (got $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0
LLM_BREAKER_FAILURES=1 stack_start_worker || bail "orch-worker restarted (two providers, LLM_BREAKER_FAILURES=1)"
check "/status: the restarted worker stays stopped" wait_for 5 stopped

# an answer outside the menu
scenario '"llm_content":{"mode":"crypto","intensity":"normal","workflows":["crypto-normal-scan","forex-london-session"],"next_decision_seconds":60,"reason":"e2e: start the London scan"}'
if force; then
  describe
  check "out-of-menu workflow -> rejected, the fallback decides, the reason is recorded" \
    dis "d['audit']['llm_outcome'] == 'rejected' and 'forex-london-session' in d['audit']['llm_detail'] and 'fallback (llm rejected)' in d['reason'] and d['audit']['llm_calls'][0]['outcome'] == 'rejected' and 'forex-london-session' in (d['audit']['llm_calls'][0]['error'] or '')"
  check "the rejected answer is kept as raw output" dis "'forex-london-session' in d['audit']['raw_output']"
  check "the rejected decision triggers no forex-london-session" dis "all(t['workflow'] != 'forex-london-session' for t in d['triggers'])"
else
  not_ok "out-of-menu workflow -> rejected, the fallback decides, the reason is recorded"
fi

# 500, then ok: retried on the same provider
scenario '"behaviour":{"llm":["500","ok"]}'
if force; then
  describe
  check "500 then ok -> retried: outcome ok after groq:server_error:500 groq:ok:200" \
    eval '[ "$(outcomes)" = "groq:server_error:500 groq:ok:200" ] && dis "d[\"audit\"][\"llm_outcome\"] == \"ok\""'
else not_ok "500 then ok -> retried"; fi

# json_validate_failed once, then ok
scenario '"behaviour":{"llm":["json_validate_failed","ok"]}'
if force; then
  describe
  check "json_validate_failed then ok -> retried once: outcome ok" \
    eval '[ "$(outcomes)" = "groq:json_validate_failed:400 groq:ok:200" ] && dis "d[\"audit\"][\"llm_outcome\"] == \"ok\""'
else not_ok "json_validate_failed then ok -> retried once"; fi

# an answer in ``` fences with a <think> block would be accepted; fences here
scenario '"behaviour":{"llm":"fenced"}'
if force; then
  describe
  check "an answer in \`\`\`json fences is accepted; raw output keeps the fences" \
    dis "d['audit']['llm_outcome'] == 'ok' and d['audit']['raw_output'].startswith('\`\`\`')"
else not_ok "an answer in fences is accepted"; fi

# 429 with a retry-after longer than the worker waits: fail over to OpenAI
scenario '"behaviour":{"llm":["429","ok"]},"retry_after":60'
if force; then
  describe
  check "429 with retry-after 60 -> fails over: groq:rate_limited:429 then openai:ok:200, decided by openai" \
    eval '[ "$(outcomes)" = "groq:rate_limited:429 openai:ok:200" ] && dis "d[\"audit\"][\"llm_outcome\"] == \"ok\" and d[\"audit\"][\"provider\"] == \"openai\" and d[\"audit\"][\"model\"] == \"gpt-4o-mini\""'
  check "the OpenAI request went to OPENAI_BASE_URL with its own key" \
    eval 'standin GET "/_standin/requests?prefix=/llm/v1/" | is "len(d) == 1 and d[0][\"headers\"][\"authorization\"] == \"Bearer $OPENAI_KEY\" and d[0][\"body\"][\"model\"] == \"gpt-4o-mini\""'
else not_ok "429 with a long retry-after -> fails over to openai"; fi

# timeouts: the fallback decides within the cycle budget
scenario '"behaviour":{"llm":"timeout"}'
if force; then
  describe
  check "LLM timeouts -> fallback with outcome timeout (groq skipped while its retry-after runs)" \
    dis "d['audit']['llm_outcome'] == 'timeout' and 'fallback (llm timeout)' in d['reason'] and len(d['audit']['llm_calls']) >= 1 and all(c['outcome'] == 'timeout' and c['provider'] == 'openai' for c in d['audit']['llm_calls'])"
  check "within the budget: LLM time $(dq 'd["audit"]["latency_ms"]') ms <= LLM_CYCLE_BUDGET_MS + LLM_TIMEOUT_MS; command done in $FORCE_MS ms" \
    dis "d['audit']['latency_ms'] <= 4000 + 1500 and $FORCE_MS < 4000 + 1500 + 5000"
else not_ok "LLM timeouts -> fallback within the budget"; fi

# groq waits for its retry-after, openai's circuit is open (LLM_BREAKER_FAILURES=1)
scenario ''
if force; then
  describe
  check "no provider available (Groq waits for its retry-after, OpenAI's circuit is open) -> outcome rate_limited, no call" \
    dis "d['audit']['llm_outcome'] == 'rate_limited' and d['audit']['llm_calls'] == [] and 'circuit open' in d['audit']['llm_detail'] and 'retry-after' in d['audit']['llm_detail']"
  check "... and no request reached the stand-in's LLM ($(llm_count))" test "$(llm_count)" = 0
else not_ok "no provider available -> outcome rate_limited"; fi

standin GET '/_standin/requests?prefix=/n8n/webhook/' > "$T/hooks.json"
hooks_forex=$("$PYTHON" -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("path") == "/n8n/webhook/forex-london-session"))' "$T/standin-requests.jsonl")
check "the stand-in's webhook log shows no forex-london-session trigger ($hooks_forex)" test "$hooks_forex" = 0

# ---- /status and /metrics ----------------------------------------------------------------

api GET /status
cp "$BODY" "$T/status.json"
sis() { is "$1" < "$T/status.json"; }
check "/status -> 200 with server_time (got $CODE)" \
  eval '[ "$CODE" = 200 ] && sis "bool(re.match(r\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$\", d[\"server_time\"]))"'
check "/status llm: configured, providers groq then openai with circuits and rate limits" \
  sis "d['llm']['configured'] is True and [p['name'] for p in d['llm']['providers']] == ['groq', 'openai'] and all(p['circuit'] in ('closed','open','half_open') and 'remaining_requests' in p and 'remaining_tokens' in p for p in d['llm']['providers'])"
check "/status llm: openai's circuit is open after its timeouts" \
  sis "[p['circuit'] for p in d['llm']['providers'] if p['name'] == 'openai'] == ['open']"
check "/status llm: prompt version and hash, budgets" \
  sis "d['llm']['prompt_version'] == '$PROMPT_VERSION' and d['llm']['prompt_hash'] == '$PROMPT_HASH' and d['llm']['max_calls_per_hour'] == 60 and d['llm']['calls_last_hour'] >= 7 and d['llm']['tokens_today'] > 0"
check "/status llm: agreement_rate over 24 h and overall" \
  sis "all(isinstance(d['llm']['agreement_rate'][k], (int, float)) and 0 <= d['llm']['agreement_rate'][k] <= 1 for k in ('last_24h', 'overall')) and d['llm']['agreement_rate']['compared'] >= 4"
check "/status llm: fallback_streak counts the latest failed decisions ($(jpy 'd["llm"]["fallback_streak"]' < "$T/status.json"))" \
  sis "d['llm']['fallback_streak'] == 2"
check "/status llm: spend and errors over 24 h" \
  sis "d['llm']['calls_24h'] >= 9 and d['llm']['tokens_24h'] > 0 and all(d['llm']['errors_24h_by_kind'].get(k, 0) >= 1 for k in ('rejected', 'server_error', 'json_validate_failed', 'rate_limited', 'timeout'))"
check "/status last_decision carries its llm_outcome" sis "d['last_decision']['llm_outcome'] == 'rate_limited'"

api GET /metrics
cp "$BODY" "$T/metrics.txt"
check "/metrics -> 200 (got $CODE)" test "$CODE" = 200
promtool_out=$(promtool check metrics < "$T/metrics.txt" 2>&1)
promtool_rc=$?
[ -z "$promtool_out" ] || echo "$promtool_out" | sed 's/^/# promtool: /'
check "promtool check metrics: silent, exit 0 (exit $promtool_rc)" test "$promtool_rc" = 0 -a -z "$promtool_out"
# metric NAME{LABELS}: its value (empty when absent)
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
missing=
for m in orchestrator_llm_calls_total orchestrator_llm_errors_total orchestrator_llm_tokens_total \
         orchestrator_llm_latency_seconds_bucket orchestrator_llm_latency_seconds_sum \
         orchestrator_llm_latency_seconds_count orchestrator_fallback_decisions_total \
         orchestrator_llm_agreement_rate orchestrator_llm_tokens_today orchestrator_llm_calls_last_hour \
         orchestrator_llm_circuit_open; do
  grep -Eq "^$m(\{| )" "$T/metrics.txt" || missing="$missing $m"
done
check "LLM metrics present${missing:+ (missing:$missing)}" test -z "$missing"
metrics_agree() {
  "$PYTHON" - "$T/metrics.txt" <<'EOF'
import re, sys
v = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    k, x = line.rsplit(" ", 1)
    v[k] = float(x)
calls = sum(x for k, x in v.items() if k.startswith("orchestrator_llm_calls_total{"))
errs = sum(x for k, x in v.items() if k.startswith("orchestrator_llm_errors_total{"))
ok = sum(x for k, x in v.items() if k.startswith("orchestrator_llm_calls_total{") and 'outcome="ok"' in k)
buckets = [x for k, x in v.items() if k.startswith("orchestrator_llm_latency_seconds_bucket{")]
bad = []
if calls < 9: bad.append("calls_total %g < 9" % calls)
if errs != calls - ok: bad.append("errors_total %g != calls %g - ok %g" % (errs, calls, ok))
if v.get("orchestrator_llm_latency_seconds_count") != calls: bad.append("histogram count != calls_total")
if buckets != sorted(buckets) or buckets[-1] != calls: bad.append("buckets not cumulative up to +Inf = count: %s" % buckets)
if v.get('orchestrator_llm_latency_seconds_bucket{le="+Inf"}') is None: bad.append("no +Inf bucket")
if v.get('orchestrator_llm_errors_total{kind="timeout"}', 0) < 1: bad.append("no timeout error")
if v.get('orchestrator_llm_circuit_open{provider="openai"}') != 1: bad.append("openai circuit not open")
if v.get('orchestrator_llm_circuit_open{provider="groq"}') != 0: bad.append("groq circuit not closed")
if v.get('orchestrator_llm_tokens_total{provider="groq",type="prompt"}', 0) <= 0: bad.append("no groq prompt tokens")
if v.get('orchestrator_llm_tokens_total{provider="openai",type="completion"}', 0) <= 0: bad.append("no openai completion tokens")
if v.get("orchestrator_fallback_decisions_total", -1) < 0: bad.append("no fallback decisions counter")
if not 0 <= v.get("orchestrator_llm_agreement_rate", -1) <= 1: bad.append("agreement rate out of range")
if v.get("orchestrator_llm_calls_last_hour", 0) < 7: bad.append("calls_last_hour < 7")
for x in bad:
    print("# " + x)
sys.exit(1 if bad else 0)
EOF
}
check "LLM metrics agree: errors = calls - ok, histogram count = calls, cumulative buckets, circuits" metrics_agree

# ---- the API's error codes and the command endpoint ---------------------------------------

code_is() { [ "$CODE" = "$1" ] && is "d.get('code') == '$2' and bool(d.get('error'))" < "$BODY"; }
api GET '/decisions?limit=0'
check "/decisions?limit=0 -> 400 code bad_parameter" code_is 400 bad_parameter
api GET '/decisions?detail=maybe'
check "/decisions?detail=maybe -> 400 code bad_parameter" code_is 400 bad_parameter
api GET /decisions/abc
check "/decisions/abc -> 400 code bad_parameter" code_is 400 bad_parameter
api GET /decisions/999999999
check "/decisions/999999999 -> 404 code not_found" code_is 404 not_found
api GET /control/no-such-command
check "/control/no-such-command -> 404 code not_found" code_is 404 not_found
api POST /decisions --data-binary ''
check "POST /decisions -> 405 code method_not_allowed" code_is 405 method_not_allowed
api POST /control/force-decision --data-binary ''
check "POST /control/force-decision without a token -> 401 code unauthorized" code_is 401 unauthorized
api GET "/control/commands/$CMD_ID"
check "GET /control/commands/$CMD_ID without a token -> 401 code unauthorized" code_is 401 unauthorized
api GET "/control/commands/$CMD_ID" -H "$(auth)"
check "GET /control/commands/$CMD_ID -> 200 {status done, result, decision_id}" \
  eval '[ "$CODE" = 200 ] && is "d[\"command_id\"] == $CMD_ID and d[\"command\"] == \"force_decision\" and d[\"status\"] == \"done\" and d[\"result\"] == \"decision made\" and d[\"decision_id\"] == $DECISION and bool(d[\"processed_at\"])" < "$BODY"'
api GET /control/commands/999999999 -H "$(auth)"
check "GET /control/commands/999999999 -> 404 code not_found" code_is 404 not_found

# ---- phase 3: Groq alone; every answer kind and error in CONTRACTS.md ----------------------

stack_stop_worker TERM
check "the phase 2 worker stops with exit status 0 (got $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0
OPENAI_API_KEY= LLM_BREAKER_FAILURES=100 stack_start_worker || bail "orch-worker restarted (Groq alone)"
check "/status: the phase 3 worker stays stopped" wait_for 5 stopped

# WORD OUTCOME HTTP: the stand-in's LLM answers WORD; the decision's
# llm_outcome is OUTCOME, its first call has that HTTP status, the fallback decided
for c in 'think ok 200' 'prose ok 200' 'fenced ok 200' 'not_json invalid 200' 'truncated length 200' \
         'malformed malformed 200' 'empty malformed 200' \
         '401 request_error 401' '403 request_error 403' '404 request_error 404' '413 request_error 413' \
         '422 request_error 422' '424 server_error 424' '498 server_error 498' '499 server_error 499' \
         '502 server_error 502' '503 server_error 503'; do
  set -- $c
  word=$1 want=$2 hs=$3
  scenario "\"behaviour\":{\"llm\":\"$word\"}" || not_ok "stand-in configured for $word"
  if force; then
    if [ "$want" = ok ]; then
      check "LLM answers $word -> accepted (outcome ok, calls: $(outcomes))" \
        dis "d['audit']['llm_outcome'] == 'ok' and 'llm: ' in d['reason'] and 'fallback' not in d['reason']"
    else
      retried=$( [ "$want" = server_error ] && echo "len(d['audit']['llm_calls']) >= 2" || echo "len(d['audit']['llm_calls']) == 1")
      check "LLM answers $word -> $want, HTTP $hs, the fallback decides (calls: $(outcomes))" \
        dis "d['audit']['llm_outcome'] == '$want' and d['audit']['llm_calls'][0]['http_status'] == $hs and d['audit']['llm_calls'][0]['outcome'] == '$want' and 'fallback (llm $want)' in d['reason'] and bool(d['audit']['llm_detail']) and $retried"
    fi
  else
    not_ok "LLM answers $word -> $want"
  fi
done
check "the 5xx cases were retried on Groq, the 4xx ones were not (503: $(outcomes))" \
  eval '[ "$(outcomes)" = "groq:server_error:503 groq:server_error:503 groq:server_error:503" ] || dis "len(d[\"audit\"][\"llm_calls\"]) >= 2 and all(c[\"outcome\"] == \"server_error\" for c in d[\"audit\"][\"llm_calls\"])"'

# Groq's own headers: the last request of its window -> the next decision
# steps down to the fallback without calling (and so without a 429)
scenario '"llm_remaining_requests":1'
if force; then
  check "a call that leaves x-ratelimit-remaining-requests 0 is still accepted" dis "d['audit']['llm_outcome'] == 'ok'"
  n0=$(llm_count)
  if force; then
    describe
    check "remaining-requests 0 -> stepped down: outcome rate_limited, no call, 'no requests left' in the detail" \
      dis "d['audit']['llm_outcome'] == 'rate_limited' and d['audit']['llm_calls'] == [] and 'no requests left' in d['audit']['llm_detail'] and 'fallback (llm rate_limited)' in d['reason']"
    check "... and no LLM request reached the stand-in ($n0 before, $(llm_count) after)" test "$(llm_count)" = "$n0"
  else not_ok "remaining-requests 0 -> stepped down"; fi
  # the stand-in itself says 429 when the window is used up (what the step-down avoids)
  code=$(curl -s -o "$T/429.json" -w '%{http_code}' -H "Authorization: Bearer x" -H 'Content-Type: application/json' \
         --data-binary '{"model":"m","messages":[{"role":"user","content":"x"}]}' "$SA/llm/openai/v1/chat/completions")
  check "the stand-in answers 429 rate_limit_exceeded once its window is used up (got $code)" \
    eval '[ "$code" = 429 ] && is "d[\"error\"][\"code\"] == \"rate_limit_exceeded\"" < "$T/429.json"'
else not_ok "a call that leaves x-ratelimit-remaining-requests 0 is still accepted"; fi

# the tokens-per-day budget, restored from llm_calls at start
stack_stop_worker TERM
spent=$(sql "SELECT sum(prompt_tokens + completion_tokens) FROM llm_calls WHERE called_at::date = (now() AT TIME ZONE 'UTC')::date")
OPENAI_API_KEY= LLM_MAX_TOKENS_PER_DAY=$((spent + 10)) stack_start_worker || bail "orch-worker restarted (LLM_MAX_TOKENS_PER_DAY)"
wait_for 5 stopped
scenario ''
n0=$(llm_count)
if force; then
  describe
  check "LLM_MAX_TOKENS_PER_DAY=$((spent + 10)) with $spent spent today -> outcome budget, no call" \
    dis "d['audit']['llm_outcome'] == 'budget' and 'LLM_MAX_TOKENS_PER_DAY' in d['audit']['llm_detail'] and d['audit']['llm_calls'] == []"
  check "... and no LLM request reached the stand-in" test "$(llm_count)" = "$n0"
else not_ok "LLM_MAX_TOKENS_PER_DAY -> outcome budget"; fi

api GET /metrics
cp "$BODY" "$T/metrics3.txt"
outcomes_metric() {
  "$PYTHON" - "$T/metrics3.txt" <<'EOF'
import sys
v = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    k, x = line.rsplit(" ", 1)
    v[k] = float(x)
bad = []
for o in ("ok", "budget", "rate_limited", "rejected", "invalid", "length", "malformed", "request_error", "server_error", "timeout"):
    if v.get('orchestrator_llm_decisions_total{outcome="%s"}' % o, 0) < 1:
        bad.append("no decision with outcome %s" % o)
total = sum(x for k, x in v.items() if k.startswith("orchestrator_llm_decisions_total{"))
fell = total - v.get('orchestrator_llm_decisions_total{outcome="ok"}', 0)
if v.get("orchestrator_fallback_decisions_total") != fell:
    bad.append("fallback_decisions_total %s != decisions not ok %s" % (v.get("orchestrator_fallback_decisions_total"), fell))
for x in bad:
    print("# " + x)
sys.exit(1 if bad else 0)
EOF
}
check "/metrics: orchestrator_llm_decisions_total by outcome (budget and step-downs included); fallback_decisions_total = the rest" outcomes_metric
promtool_out=$(promtool check metrics < "$T/metrics3.txt" 2>&1)
check "promtool check metrics: silent after phase 3" test -z "$promtool_out"

# ---- secrets ---------------------------------------------------------------------------------

stack_stop_worker TERM
check "the worker stops with exit status 0 (got $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0
leaks=$(grep -rlF -e "$TOKEN" -e "$GROQ_KEY" -e "$OPENAI_KEY" --exclude=standin.log "$T/log" "$T/answers" | sed "s|^$T/||" | tr '\n' ' ')
check "no secret (API token, GROQ_API_KEY, OPENAI_API_KEY) in any log or API answer${leaks:+ (found in: $leaks)}" test -z "$leaks"
db_leaks=$(sql "SELECT count(*) FROM decisions d WHERE strpos(d::text, '$GROQ_KEY') > 0 OR strpos(d::text, '$OPENAI_KEY') > 0")
check "no LLM key in the decisions table ($db_leaks rows)" test "$db_leaks" = 0
