#!/usr/bin/env bash
# End-to-end test with real n8n: n8n 1.123.x (scripts/n8n.sh: installed from
# the npm registry into a cache it reuses, started on loopback with its own
# user folder and SQLite database, owner and API key set up, the eight
# workflows of n8n/workflows imported and active), the real PostgreSQL,
# nginx, orch-api and orch-worker, and tests/standin/standin.py standing in
# for the market sources the workflows call (DexScreener and TraderMade,
# serving the recorded responses of ../shared/data/fixtures) and for the LLM.
#
# The worker (stopped, driven by forced decisions that start
# crypto-normal-scan and health-monitor-check) sends real webhooks; n8n
# answers with its execution id, scans the stand-in and posts its result to
# POST /results through nginx.  Checked: executions run and are tracked to
# their end through n8n's public API (execution id, n8n status success,
# outcome succeeded), results reach the decisions (opportunities in the
# database and in /decisions, learned by the worker), a repeated result is a
# no-op, a wrong results token gets 401, a failing source (TraderMade, for
# the health check) makes the execution fail (result error, n8n status
# error, outcome failed), the scan parameters the orchestrator sends are
# what n8n searches, the same idempotency key posted again while the first
# execution still runs scans once (the key is claimed from the orchestrator:
# the second answer says duplicate), a key the orchestrator does not know is
# refused (409), concurrency 'replace' stops the replaced
# long-running execution (canceled in n8n) with the owner's login, a
# deactivated workflow is left off the menu once n8n's list shows it
# inactive (its webhook answers 404 "not registered") and shows unavailable
# in /status and /workflows/available, a forex session workflow and
# deep-market-analysis run, are tracked to success and report results (the
# worker on a London-and-New-York weekday afternoon, through libfaketime),
# /metrics passes promtool, no secret in logs.
#
# Two stand-ins: SA for the worker (its probes, the LLM), SB for the
# market sources the workflows call, so that a source made slow or failing
# for n8n does not change what the worker senses.
#
# When n8n cannot be installed (no npm registry, no Node 20) the test FAILS
# with the reason; it never skips.  The first run installs n8n (~9 min,
# ~1.8 GB in N8N_CACHE_DIR, default /var/cache/ai-orchestrator/n8n); later
# runs reuse the cache (about 1.5 minutes in all).
#
# Run by `make check`; by hand:  top_builddir=/path/to/build bash tests/e2e/e2e_n8n.sh
# Environment: KEEP_TMP=1 keeps the state directory; N8N_CACHE_DIR.
# Output: one `ok - ...` / `not ok - ...` line per check, then
# `N passed, N failed`.  Exit 0 when nothing failed, else 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_n8n
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin
n8n_begin

# ---- helpers ---------------------------------------------------------------------

# force: POST /control/force-decision and wait for the decision; D is its id.
force() { force_new 20; }
show() { sql "SELECT workflow || ' ' || status || ' attempts=' || attempts || ' http=' || coalesce(http_status::text, '-')
                     || ' exec=' || coalesce(execution_id, '-') || '/' || coalesce(execution_status, '-')
                     || ' outcome=' || coalesce(outcome, '-') || ' opp=' || coalesce(opportunities::text, '-')
                     || ' err=' || left(coalesce(error, '-'), 120)
                FROM triggers WHERE decision_id = $1 ORDER BY id" | sed 's/^/#   /'; }

# ---- n8n: install (or reuse the cache) -----------------------------------------------------

n8n_install

# ---- the orchestrator's side ---------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
standin_b_start

LLM_ANSWER='{"mode":"crypto","intensity":"normal","workflows":["crypto-normal-scan","health-monitor-check"],"next_decision_seconds":300,"reason":"e2e with real n8n","confidence":0.8}'
n8n_e2e_env "$LLM_ANSWER"
export PUMPFUN_BASE_URL=$SA/pumpfun
# sa_fresh ANSWER: the worker's stand-in reset (its LLM announces fewer tokens left with
# every call, and the worker would rightly step down) and configured with that LLM answer
sa_fresh() {
  curl -s -o /dev/null -X POST --max-time 5 "$SA/_standin/reset"
  standin_config "{\"llm_key\":\"$LLM_KEY\",\"llm_content\":$1,\"tradermade_key\":\"$TM_KEY\"}"
}
# the scans search every term of DEXSCREENER_QUERY (the worker's probe the first)
export DEXSCREENER_QUERY="SOL/USDC,e2eparam"

stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
ok "PostgreSQL, stand-in (DexScreener, TraderMade, LLM) and orch-api behind nginx on $BASE"

# ---- n8n: start --------------------------------------------------------------------------

n8n_start "with its own user folder, owner, API key and 8 active workflows"
# the owner's login (scripts/n8n.sh wrote it) lets 'replace' stop executions
OWNER_EMAIL=$(jpy 'd["email"]' < "$N8N_DIR/owner.json")
OWNER_PW=$(jpy 'd["password"]' < "$N8N_DIR/owner.json")
export N8N_OWNER_EMAIL=$OWNER_EMAIL N8N_OWNER_PASSWORD=$OWNER_PW
export WORKFLOW_CONCURRENCY="crypto-light-monitoring=replace,deep-market-analysis=forbid,default=allow"
export LOAD_HIGH=1000     # a busy test machine must not take aggressive (and deep analysis) off the menu
stack_start_worker || bail "orch-worker started"
api POST /control/stop --data-binary '' -H "$(auth)"
check "the worker is driven by forced decisions (POST /control/stop -> $CODE)" \
  wait_for 10 status_is 'd.get("running") is False'
check "/status: n8n's public API configured and read" \
  wait_for 15 status_is '(d.get("n8n") or {}).get("ok") is True'
api GET /workflows/available
check "/workflows/available merges n8n's workflow list (ids orch..., all active)" \
  test "$(jpy 'all(str((w.get("n8n") or {}).get("id", "")).startswith("orch") and w["n8n"]["active"] is True for w in d["workflows"])' < "$BODY")" = true

# ---- executions run, are tracked, and their results reach the decisions -----------------------

D0=$(last_decision)
[ "$D0" -gt 0 ] && wait_for 60 done_in "$D0" crypto-normal-scan
t_exec=$(date +%s)
force || bail "forced decision"
A=$D
check "decision #$A: the webhooks are accepted by n8n" wait_for 30 settled "$A"
exA=$(trig "$A" crypto-normal-scan execution_id)
check "the early answer gives the n8n execution id ($exA, $(trig "$A" health-monitor-check execution_id))" \
  eval '[[ "$exA" =~ ^[0-9]+$ ]] && [[ "$(trig "$A" health-monitor-check execution_id)" =~ ^[0-9]+$ ]]'
if wait_for 60 done_in "$A" crypto-normal-scan && wait_for 30 done_in "$A" health-monitor-check; then
  ok "decision #$A: executions tracked to their end and their results received in $(( $(date +%s) - t_exec )) s"
else
  not_ok "decision #$A: executions tracked to their end and their results received"; show "$A"
fi
check "crypto-normal-scan: outcome succeeded, n8n status success, duration known" \
  test "$(trig "$A" crypto-normal-scan "outcome || ' ' || execution_status || ' ' || (duration_ms IS NOT NULL)")" = "succeeded success true"
check "health-monitor-check: outcome succeeded, n8n status success" \
  test "$(trig "$A" health-monitor-check "outcome || ' ' || execution_status")" = "succeeded success"
check "the result names the same execution the webhook answered with" \
  test "$(sql "SELECT count(*) FROM results r JOIN triggers t ON t.id = r.trigger_id
                WHERE t.decision_id = $A AND r.execution_id = t.execution_id AND r.status = 'success'")" = 2
OPP=$(trig "$A" crypto-normal-scan opportunities)
check "the scan's opportunities are recorded on its trigger ($OPP)" eval '[[ "$OPP" =~ ^[0-9]+$ ]]'
dex_hits=$(curl -s "$SB/_standin/requests/count?prefix=/dex/latest/dex/search" | jpy 'd["count"]')
check "n8n scanned the DexScreener stand-in ($dex_hits searches)" test "${dex_hits:-0}" -gt 0
api GET "/decisions/$A"
check "/decisions/$A shows execution id, outcome and opportunities of each trigger" \
  test "$(jpy 'all(t.get("execution_id") and t.get("outcome") == "succeeded" and t.get("opportunities") is not None for t in d["triggers"]) and d.get("opportunities") is not None' < "$BODY")" = true
check "the decision is settled succeeded" test "$(sql "SELECT status FROM decisions WHERE id = $A")" = succeeded
TA=$(trig "$A" crypto-normal-scan id)
learned() { [ "$(sql "SELECT learned_at IS NOT NULL FROM triggers WHERE id = $TA")" = t ]; }
check "the worker learned from the result (result.learned)" wait_for 10 learned

# the result as n8n posted it, posted again: a no-op
RESULT=$(sql "SELECT result::text FROM triggers WHERE id = $TA")
KEY=$(trig "$A" crypto-normal-scan idempotency_key)
nres=$(sql "SELECT count(*) FROM results")
api POST /results -H "Authorization: Bearer $RTOKEN" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: result-$KEY" --data-binary "$RESULT"
check "the same result posted again -> 200 duplicate, nothing changes (got $CODE $(head -c 100 "$BODY"))" \
  eval '[ "$CODE/$(jpy "d.get(\"duplicate\")" < "$BODY")" = "200/true" ] && [ "$(sql "SELECT count(*) FROM results")" = "$nres" ]'
api POST /results -H "Authorization: Bearer wrong-$RTOKEN" -H 'Content-Type: application/json' --data-binary "$RESULT"
check "a wrong results token -> 401 (got $CODE)" test "$CODE" = 401

# ---- the scan parameters the orchestrator sends ---------------------------------------------
q_hits() { curl -s "$SB/_standin/requests?prefix=/dex/latest/dex/search" | jpy "len([r for r in d if (r.get('query') or {}).get('q') == '$1'])"; }
check "n8n searched what the body's parameters asked for (DEXSCREENER_QUERY's second term: $(q_hits e2eparam) searches)" \
  test "$(q_hits e2eparam)" -ge 1
check "the result reports the parameters it used (queries, limit 25 for normal)" \
  test "$(sql "SELECT (result->'details'->'queries')::text || ' ' || (result->'details'->>'limit') FROM triggers WHERE id = $TA")" = '["SOL/USDC", "e2eparam"] 25'

# ---- the same idempotency key twice: one scan, even while the first runs -----------------------
hook_post() {   # hook_post PATH KEY BODY: POST a webhook of real n8n as the worker would; answer in $T/hook.out
  curl -s -o "$T/hook.out" -w '%{http_code}' --max-time 15 -H 'Content-Type: application/json' \
    -H "X-Orchestrator-Token: $HOOK_VALUE" -H "Idempotency-Key: $2" --data-binary "$3" "$N8N/webhook/$1"
}
n8n_status() { curl -s --max-time 5 -H "X-N8N-API-KEY: $N8N_KEY" "$N8N/api/v1/executions/$1" | jpy 'd.get("status")'; }
n8n_ended() { case "$(n8n_status "$1")" in success|error|crashed|canceled) return 0 ;; esac; return 1; }
# the workflows' DexScreener slow: the first execution is still fetching when the key comes again
standin_b_config '{"slow_seconds":8,"behaviour":{"dex":"slow"}}'
force || bail "forced decision"
DD=$D
X_DUP1=
dup_started() { X_DUP1=$(trig "$DD" crypto-normal-scan "coalesce(execution_id, '')"); [ -n "$X_DUP1" ]; }
wait_for 20 dup_started
DUPKEY=$(trig "$DD" crypto-normal-scan idempotency_key)
DUPBODY=$(trig "$DD" crypto-normal-scan "payload::text")
check "decision #$DD: n8n's execution $X_DUP1 claimed the key and is still running ($(n8n_status "$X_DUP1"))" \
  test "$(trig "$DD" crypto-normal-scan "claimed_execution_id")/$(n8n_status "$X_DUP1")" = "$X_DUP1/running"
code=$(hook_post crypto-normal-scan "$DUPKEY" "$DUPBODY")
X_DUP2=$(jpy 'd.get("duplicate_execution_id")' < "$T/hook.out")
check "the same key again while it runs -> 200 accepted, duplicate, with the first execution's id ($(head -c 160 "$T/hook.out"))" \
  test "$code/$(jpy "d.get('accepted') is True and d.get('duplicate') is True and d.get('execution_id') == '$X_DUP1'" < "$T/hook.out")" = "200/true"
wait_for 30 n8n_ended "$X_DUP2" || note "execution $X_DUP2 still $(n8n_status "$X_DUP2")"
check "the duplicate's execution ended at once, without scanning ($(n8n_status "$X_DUP2"))" \
  test "$(n8n_status "$X_DUP2")" = success
standin_b_config '{"behaviour":{"dex":"ok"}}'
TD=$(trig "$DD" crypto-normal-scan id)
one_result() { [ "$(sql "SELECT count(*) FROM results WHERE trigger_id = $TD")" = 1 ]; }
wait_for 60 n8n_ended "$X_DUP1"
one_scan() {
  wait_for 30 one_result &&
    [ "$(sql "SELECT r.execution_id || '/' || t.claims FROM results r JOIN triggers t ON t.id = r.trigger_id WHERE t.id = $TD")" = "$X_DUP1/2" ]
}
check "one scan for the two deliveries: one result, from execution $X_DUP1; the key claimed twice" one_scan
# what the lookup of a trigger left 'unknown' reads (worker/track_find.c): n8n's
# executions of the workflow with includeData=true, the key the webhook got
# appearing among their data as a string of its own
WID=$(curl -s --max-time 5 -H "X-N8N-API-KEY: $N8N_KEY" "$N8N/api/v1/executions/$X_DUP1" | jpy 'd.get("workflowId")')
curl -s --max-time 10 -H "X-N8N-API-KEY: $N8N_KEY" \
  "$N8N/api/v1/executions?workflowId=$WID&includeData=true&limit=50" > "$T/exec-data.json"
carriers=$(jpy "sorted(str(e['id']) for e in d['data'] if json.dumps('$DUPKEY') in json.dumps(e))" < "$T/exec-data.json")
want=$(jpy "sorted(['$X_DUP1', '$X_DUP2'])" <<< '{}')
check "n8n's executions list with includeData shows the key each webhook received (key in: $carriers; want $want)" \
  test "$carriers" = "$want"

# a key the orchestrator never gave out: the workflow refuses it (409) and scans nothing
code=$(hook_post crypto-normal-scan "e2e-unknown-$(rnd 6)" '{"idempotency_key":"e2e-unknown-key","workflow":"crypto-normal-scan"}')
check "a key the orchestrator does not know -> 409, accepted false, claim not granted ($code $(head -c 120 "$T/hook.out"))" \
  test "$code/$(jpy 'd.get("accepted") is False and "claim not granted" in (d.get("error") or "")' < "$T/hook.out")" = "409/true"

# ---- concurrency 'replace' stops the replaced execution in n8n --------------------------------------
REPLACE_ANSWER='{"mode":"crypto","intensity":"light","workflows":["crypto-light-monitoring"],"next_decision_seconds":300,"reason":"e2e replace","confidence":0.8}'
sa_fresh "$REPLACE_ANSWER"
standin_b_config '{"slow_seconds":10,"behaviour":{"dex":"slow"}}'     # a long-running scan
force && P1=$D
wait_for 30 settled "$P1"
X_P1=$(trig "$P1" crypto-light-monitoring execution_id)
check "decision #$P1: crypto-light-monitoring accepted, n8n execution $X_P1 running" \
  test "$(trig "$P1" crypto-light-monitoring "status || ' ' || coalesce(outcome, 'running')")/$(n8n_status "$X_P1")" = "sent running/running"
force && P2=$D
wait_for 30 settled "$P2"
standin_b_config '{"behaviour":{"dex":"ok"}}'
check "the next crypto-light-monitoring (policy replace) is accepted" test "$(trig "$P2" crypto-light-monitoring status)" = sent
p_state() { trig "$1" crypto-light-monitoring "coalesce(outcome, '-') || ' ' || coalesce(stop_outcome, '-') || ' ' || coalesce(execution_status, '-')"; }
p_is() { [ "$(p_state "$1")" = "$2" ]; }
if wait_for 15 p_is "$P1" "superseded stopped canceled"; then
  ok "the replaced trigger: superseded, its execution stopped through n8n's REST API (canceled)"
else
  not_ok "the replaced trigger: superseded, its execution stopped ($(p_state "$P1"))"; show "$P1"
fi
check "n8n's public API shows execution $X_P1 canceled" test "$(n8n_status "$X_P1")" = canceled
check "/status n8n.replace: can stop, stopped >= 1" \
  wait_for 5 status_is '(d["n8n"].get("replace") or {}).get("can_stop") is True and d["n8n"]["replace"]["stopped"] >= 1'
check "decision #$P1 is still settled succeeded (superseded by our own replace is no failure)" \
  test "$(sql "SELECT status FROM decisions WHERE id = $P1")" = succeeded
check "the replacing execution runs to its end (succeeded)" wait_for 60 done_in "$P2" crypto-light-monitoring

# ---- a failing source ------------------------------------------------------------------------

# TraderMade answering 500 (to n8n): the health check (orchestrator /health, DexScreener,
# TraderMade) reports an error and its execution fails; the crypto scan is fine.
standin_config "{\"llm_content\":$LLM_ANSWER}"
standin_b_config '{"behaviour":{"tradermade":"500"}}'
force && F=$D
if wait_for 30 settled "$F" && wait_for 60 done_in "$F" health-monitor-check; then
  check "TraderMade answering 500 -> health check result error, n8n status error, outcome failed" \
    test "$(trig "$F" health-monitor-check "result->>'status' || ' ' || execution_status || ' ' || outcome")" = "error error failed"
  err=$(trig "$F" health-monitor-check "result->>'error'")
  check "the error names the source and the HTTP status ($(echo "$err" | head -c 90))" \
    eval 'echo "$err" | grep -qi "tradermade.*500"'
else
  not_ok "TraderMade answering 500 -> the health check's execution ends failed"; show "$F"
fi
standin_b_config '{"behaviour":{"tradermade":"ok"}}'
check "the decision with a failed execution is settled partial" \
  wait_for 10 eval '[ "$(sql "SELECT status FROM decisions WHERE id = $F")" = partial ]'

# ---- a deactivated workflow --------------------------------------------------------------------

# n8n's owner (DIR/owner.json) makes a key allowed to deactivate, through n8n's own REST API.
OWNER_EMAIL=$(jpy 'd["email"]' < "$N8N_DIR/owner.json")
OWNER_PW=$(jpy 'd["password"]' < "$N8N_DIR/owner.json")
printf '{"emailOrLdapLoginId":"%s","password":"%s"}' "$OWNER_EMAIL" "$OWNER_PW" |
  curl -s -o /dev/null -c "$T/n8n-cookies" -H 'Content-Type: application/json' --data-binary @- "$N8N/rest/login"
ADMIN_KEY=$(curl -s -b "$T/n8n-cookies" -H 'Content-Type: application/json' \
  --data '{"label":"e2e","scopes":["workflow:read","workflow:list","workflow:activate","workflow:deactivate"],"expiresAt":null}' \
  "$N8N/rest/api-keys" | jpy 'd["data"]["rawApiKey"]')
WID=$(sql "SELECT coalesce(n8n_id, 'orchCryptoNormal') FROM workflow_state WHERE workflow = 'crypto-normal-scan'")
code=$(curl -s -o "$T/deactivate.out" -w '%{http_code}' -X POST -H "X-N8N-API-KEY: $ADMIN_KEY" "$N8N/api/v1/workflows/$WID/deactivate")
check "crypto-normal-scan deactivated in n8n (POST /api/v1/workflows/$WID/deactivate -> $code)" test "$code" = 200
code=$(curl -s -o "$T/inactive.out" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  -H "X-Orchestrator-Token: $HOOK_VALUE" --data '{}' "$N8N/webhook/crypto-normal-scan")
check "its webhook answers 404 \"... is not registered\" (what the worker classifies as unavailable; got $code)" \
  eval '[ "$code" = 404 ] && grep -q "is not registered" "$T/inactive.out"'
n8n_inactive() {
  local v
  api GET /workflows/available
  v=$(jpy '[(w["available"], (w.get("n8n") or {}).get("active")) for w in d["workflows"] if w["path"] == "crypto-normal-scan"] == [(False, False)]' < "$BODY")
  [ "$v" = true ]
}
check "/workflows/available: crypto-normal-scan unavailable, n8n active false (from n8n's list)" wait_for 15 n8n_inactive
check "/status lists crypto-normal-scan as unavailable" \
  wait_for 10 status_is '"crypto-normal-scan" in [u["workflow"] for u in d["workflows"]["unavailable"]]'
hooks_u=$(curl -s "$SB/_standin/requests/count?prefix=/dex/latest/dex/search" | jpy 'd["count"]')
force && U=$D
wait_for 30 settled "$U"
check "decision #$U leaves the inactive crypto-normal-scan off its menu, noted, and starts no trigger of it" \
  test "$(sql "SELECT (SELECT count(*) FROM triggers WHERE decision_id = $U AND workflow = 'crypto-normal-scan')
                || '/' || (SELECT count(*) FROM decisions, jsonb_array_elements_text(menu->'excluded') e
                           WHERE id = $U AND e LIKE 'crypto-normal-scan: inactive in n8n%')")" = "0/1"

# ---- a forex session workflow and deep-market-analysis ---------------------------------------------

# The worker on a weekday afternoon when London and New York are open (libfaketime,
# behind the real clock: n8n, PostgreSQL and the stand-ins keep the real one), so
# that forex, hybrid and deep-market-analysis are on the menu whatever day it is.
FAKETIME_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
  [ -f "$f" ] && { FAKETIME_LIB=$f; break; }
done
[ -n "$FAKETIME_LIB" ] || bail "libfaketime found (Debian package faketime, scripts/setup-deps.sh installs it)"
fake_secs=$(( $(date +%s) - $(date -u -d 'last wednesday 14:00' +%s) ))
stack_stop_worker TERM
check "the worker stops for the weekday run (exit $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0
FX_ANSWER='{"mode":"hybrid","intensity":"aggressive","workflows":["crypto-aggressive-scan","forex-london-session","deep-market-analysis"],"next_decision_seconds":300,"reason":"e2e forex and deep analysis","confidence":0.8}'
sa_fresh "$FX_ANSWER"
# the worker believes TraderMade's timestamps only near its own clock (an hour
# ahead at most): the stand-in sends them in the worker's faked time
standin_config "{\"clock_offset_seconds\": -$fake_secs}" || bail "stand-in clock set to the worker's"
export LD_PRELOAD=$FAKETIME_LIB FAKETIME="-$fake_secs" FAKETIME_DONT_FAKE_MONOTONIC=1
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
stack_start_worker || bail "orch-worker started on a weekday afternoon (libfaketime)"
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
force && FX=$D
fx_sent() {
  [ "$(sql "SELECT count(*) FROM triggers WHERE decision_id = $FX AND status = 'sent'
             AND workflow IN ('forex-london-session', 'deep-market-analysis')")" = 2 ]
}
if wait_for 30 fx_sent; then ok "decision #$FX (hybrid, aggressive): forex-london-session and deep-market-analysis accepted"
else
  not_ok "decision #$FX (hybrid, aggressive): forex-london-session and deep-market-analysis accepted"
  sql "SELECT source || ': ' || reason || ' / excluded: ' || coalesce(menu->>'excluded', '-') FROM decisions WHERE id = $FX" | sed 's/^/#   /'
  show "$FX"
fi
for wf in forex-london-session deep-market-analysis; do
  if wait_for 90 done_in "$FX" "$wf"; then
    check "$wf: tracked to its end (outcome succeeded, n8n status success) with its result ($(trig "$FX" "$wf" "opportunities") opportunities)" \
      test "$(trig "$FX" "$wf" "outcome || ' ' || execution_status || ' ' || (result->>'status') || ' ' || (opportunities IS NOT NULL)")" = "succeeded success success true"
  else
    not_ok "$wf: tracked to its end with its result"; show "$FX"
  fi
done
check "forex-london-session quoted the pairs the parameters asked for (FOREX_PAIRS: EURUSD,GBPUSD)" \
  test "$(sql "SELECT (result->'details'->'pairs')::text FROM triggers WHERE decision_id = $FX AND workflow = 'forex-london-session'")" = '["EURUSD", "GBPUSD"]'
tm_hits=$(curl -s "$SB/_standin/requests?prefix=/tradermade/api/v1/live" | jpy "len([r for r in d if (r.get('query') or {}).get('currency') == 'EURUSD,GBPUSD'])")
check "n8n asked TraderMade (the stand-in) for EURUSD,GBPUSD ($tm_hits times)" test "${tm_hits:-0}" -ge 1
check "the decision with a forex scan and deep analysis is settled succeeded" \
  wait_for 10 eval '[ "$(sql "SELECT status FROM decisions WHERE id = $FX")" = succeeded ]'

# ---- metrics, secrets --------------------------------------------------------------------------

api GET /metrics
cp "$BODY" "$T/metrics.txt"
promtool_check "$T/metrics.txt"
check "orchestrator_execution_duration_seconds counts the executions" \
  test "$(sed -n 's/^orchestrator_execution_duration_seconds_count //p' "$T/metrics.txt")" -ge 3
check "orchestrator_results_received_total{status=\"error\"} counts the failed scan" \
  test "$(sed -n 's/^orchestrator_results_received_total{status="error"} //p' "$T/metrics.txt")" -ge 1

leaks=$(grep -rlF -e "$TOKEN" -e "$RTOKEN" -e "$N8N_KEY" -e "$HOOK_VALUE" -e "$LLM_KEY" -e "$TM_KEY" -e "$OWNER_PW" \
        --exclude=standin.log --exclude=standin-b.log --exclude=n8n-start.log "$T/log" "$T/answers" | sed "s|^$T/||" | tr '\n' ' ')
check "no secret (API and results tokens, N8N_API_KEY, webhook auth, LLM and TraderMade keys, n8n owner password) in our logs or API answers${leaks:+ (found in: $leaks)}" \
  test -z "$leaks"
