#!/usr/bin/env bash
# End-to-end test of a catalog of the user's own workflows with real n8n.
# Workflows with names of their own -- desk-btc-momentum (crypto,
# normal), desk/fx-majors (forex, London and New York sessions) and
# sys.health-probe (a system check), each with parameters of its own --
# are declared in a catalog file (CATALOG_FILE); their n8n exports are made
# for the test by `n8n/generate.py --catalog FILE --out DIR --tag
# orchestrator` and imported into a private n8n 1.123.x (scripts/n8n.sh with
# N8N_WORKFLOWS_DIR), with a fourth tagged workflow that is not in the
# catalog.  The worker (on a weekday afternoon through libfaketime, so that
# forex is open whatever day the test runs) is driven by forced decisions;
# the stand-in LLM chooses the three.  Checked: the webhooks carry each
# entry's parameters and n8n scans what they ask for, each workflow claims
# its key (claims: true), executions are tracked to their end through n8n's
# public API, their results reach the decisions and are learned (per
# workflow: /workflows/available "learned"), the fifth workflow shows as
# "discovered" through n8n's own API (tags as n8n reports them).  A fourth
# entry, sys.silent-check, is like a user's own workflow: it neither
# claims its key nor posts a result (claims and expects_result false, so
# generate.py makes it without those nodes).  A worker (fault-injection
# builds) is killed after n8n answered it, before the answer was recorded:
# only n8n knows it ran, and the next leader finds the execution among
# real n8n's executions by its key (the trigger 'sent' with that execution,
# followed to its end, never sent again).  /metrics passes promtool with
# the custom names as labels, no secret in logs.
#
# When n8n cannot be installed the test FAILS with the reason; it never skips.
# Run by `make check`; by hand:  top_builddir=/path/to/build bash tests/e2e/e2e_n8n_catalog.sh
# Environment: KEEP_TMP=1 keeps the state directory; N8N_CACHE_DIR.
# Output: one `ok - ...` / `not ok - ...` line per check, then
# `N passed, N failed`.  Exit 0 when nothing failed, else 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_n8n_catalog
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin
n8n_begin

show() { sql "SELECT workflow || ' ' || status || ' http=' || coalesce(http_status::text, '-')
                     || ' exec=' || coalesce(execution_id, '-') || '/' || coalesce(execution_status, '-')
                     || ' outcome=' || coalesce(outcome, '-') || ' opp=' || coalesce(opportunities::text, '-')
                     || ' err=' || left(coalesce(error, '-'), 160)
                FROM triggers WHERE decision_id = $1 ORDER BY id" | sed 's/^/#   /'; }
WFS="desk-btc-momentum desk/fx-majors sys.health-probe"

# ---- n8n: install (or reuse the cache) ---------------------------------------------

n8n_install

# ---- the catalog and its n8n exports --------------------------------------------------

CAT=$T/catalog.json
cat > "$CAT" <<'EOF'
{"version": "e2e-n8n-catalog",
 "workflows": [
  {"name": "desk-btc-momentum", "title": "Desk: WETH momentum", "market": "crypto", "intensity": "normal",
   "needs": ["dexscreener"], "parameters": {"queries": ["WETH/USDC"], "limit": 3},
   "expects_result": true, "claims": true},
  {"name": "desk/fx-majors", "title": "Desk: FX majors in London and New York", "market": "forex",
   "sessions": ["london", "newyork"], "parameters": {"pairs": ["USDJPY", "EURUSD"]},
   "expects_result": true, "claims": true},
  {"name": "sys.health-probe", "title": "Health of the desk's sources", "market": "system",
   "expects_result": true, "claims": true},
  {"name": "sys.silent-check", "title": "A check of the user's own: no claim, no result", "market": "system",
   "expects_result": false, "claims": false}
 ]}
EOF
EXPORTS=$T/exports
"$PYTHON" "$top_srcdir/n8n/generate.py" --catalog "$CAT" --out "$EXPORTS" --tag orchestrator > "$T/log/generate.log" 2>&1 ||
  bail "n8n/generate.py --catalog wrote the exports"
# a fifth workflow in n8n, tagged for discovery, not in the catalog
printf '{"workflows":[{"name":"desk-extra","market":"crypto"}]}' > "$T/extra.json"
"$PYTHON" "$top_srcdir/n8n/generate.py" --catalog "$T/extra.json" --out "$EXPORTS" --tag orchestrator --tag crypto --tag light \
  >> "$T/log/generate.log" 2>&1 || bail "n8n/generate.py wrote the extra export"
check "five exports generated for the test ($(ls "$EXPORTS" | tr '\n' ' '))" test "$(ls "$EXPORTS" | wc -l)" = 5

# ---- the orchestrator's side ------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
standin_b_start

LLM_ANSWER='{"mode":"hybrid","intensity":"normal","workflows":["desk-btc-momentum","desk/fx-majors","sys.health-probe"],"next_decision_seconds":600,"reason":"e2e: the desk catalog","confidence":0.8}'
n8n_e2e_env "$LLM_ANSWER"
export CATALOG_FILE=$CAT PUMPFUN_BASE_URL="" LOAD_HIGH=1000

stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT

# ---- n8n: start with the catalog's exports ---------------------------------------------------

n8n_start "with the five generated workflows active" N8N_WORKFLOWS_DIR="$EXPORTS"

# the worker on a weekday afternoon (London and New York open), behind the real clock
FAKETIME_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
  [ -f "$f" ] && { FAKETIME_LIB=$f; break; }
done
[ -n "$FAKETIME_LIB" ] || bail "libfaketime found (Debian package faketime, scripts/setup-deps.sh installs it)"
fake_secs=$(( $(date +%s) - $(date -u -d 'last wednesday 14:00' +%s) ))
# the worker believes TraderMade's timestamps only near its own clock (an hour
# ahead at most): the stand-in sends them in the worker's faked time
standin_config "{\"clock_offset_seconds\": -$fake_secs}" || bail "stand-in clock set to the worker's"
export LD_PRELOAD=$FAKETIME_LIB FAKETIME="-$fake_secs" FAKETIME_DONT_FAKE_MONOTONIC=1
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
stack_start_worker || bail "orch-worker started (libfaketime)"
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
api POST /control/stop --data-binary '' -H "$(auth)"
check "the worker is driven by forced decisions" wait_for 10 status_is 'd.get("running") is False'
check "/status: the catalog file in force, 4 workflows" \
  wait_for 10 status_is "(d.get('catalog') or {}).get('workflows') == 4 and (d.get('catalog') or {}).get('file') == '$CAT'"
listed() {
  api GET /workflows/available
  is "[w['n8n_status'] for w in d['workflows']] == ['active'] * 4 and all(str((w.get('n8n') or {}).get('id', '')).startswith('orc') for w in d['workflows'])" < "$BODY"
}
check "/workflows/available: n8n lists the four active (ids of n8n/generate.py)" wait_for 20 listed
disc() {
  api GET /workflows/available
  is "[x['path'] for x in d['discovered']] == ['desk-extra'] and d['discovered'][0]['entry']['intensity'] == 'light' and d['discovered'][0]['guessed'] == []" < "$BODY"
}
check "discovery through real n8n's API: desk-extra (tags orchestrator, crypto, light) with a ready entry" wait_for 20 disc

# ---- a decision with the three: parameters, claims, tracking, results, learning ---------------

t_exec=$(date +%s)
force_new 30 || bail "forced decision"
A=$D
check "decision #$A (hybrid): the LLM chose the three, validated against the catalog" \
  test "$(sql "SELECT llm_outcome || ' ' || mode || ' ' || (SELECT string_agg(workflow, ',' ORDER BY id) FROM triggers WHERE decision_id = $A)
               FROM decisions WHERE id = $A")" = "ok hybrid desk-btc-momentum,desk/fx-majors,sys.health-probe"
check "the webhooks carry each entry's parameters" \
  test "$(sql "SELECT string_agg(coalesce(payload->'parameters'->>'limit', '-') || ':' || coalesce(payload->'parameters'->>'pairs', '-'), ' ' ORDER BY id)
               FROM triggers WHERE decision_id = $A")" = '3:- -:["USDJPY", "EURUSD"] -:-'
check "decision #$A: n8n accepted the three" wait_for 30 settled "$A"
all_done() { for w in $WFS; do done_in "$A" "$w" || return 1; done; }
if wait_for 90 all_done; then
  ok "decision #$A: the three executions tracked to their end with their results in $(( $(date +%s) - t_exec )) s"
else
  not_ok "decision #$A: the three executions tracked to their end with their results"; show "$A"
fi
for w in $WFS; do
  check "$w: claimed its key, outcome succeeded, n8n status success, result with opportunities" \
    test "$(trig "$A" "$w" "(claimed_at IS NOT NULL) || ' ' || outcome || ' ' || execution_status || ' ' || (result->>'status') || ' ' || (opportunities IS NOT NULL)")" = "true succeeded success success true"
done
check "desk-btc-momentum searched what its parameters asked for (queries WETH/USDC, limit 3)" \
  test "$(trig "$A" desk-btc-momentum "(result->'details'->'queries')::text || ' ' || (result->'details'->>'limit')")" = '["WETH/USDC"] 3'
q_hits() { curl -s "$SB/_standin/requests?prefix=/dex/latest/dex/search" | jpy "len([r for r in d if (r.get('query') or {}).get('q') == '$1'])"; }
check "n8n asked DexScreener (the stand-in) for WETH/USDC ($(q_hits WETH/USDC) searches)" test "$(q_hits WETH/USDC)" -ge 1
check "desk/fx-majors quoted the pairs its parameters asked for" \
  test "$(trig "$A" desk/fx-majors "(result->'details'->'pairs')::text")" = '["USDJPY", "EURUSD"]'
learned_all() { [ "$(sql "SELECT count(*) FROM triggers WHERE decision_id = $A AND learned_at IS NOT NULL")" = 3 ]; }
check "the worker learned from the three results" wait_for 15 learned_all
wf_learned() {
  api GET /workflows/available
  is "all((w.get('learned') or {}).get('runs', 0) >= 1 for w in d['workflows'] if w['path'] in '$WFS'.split())" < "$BODY"
}
check "/workflows/available: each workflow's own learned figures (runs, success, opportunities per run)" wait_for 20 wf_learned
check "the decision is settled succeeded" \
  wait_for 10 eval '[ "$(sql "SELECT status FROM decisions WHERE id = $A")" = succeeded ]'

# ---- a worker killed after n8n answered a workflow that does not claim ----------------------------

# sys.silent-check neither claims its key nor posts a result: when its
# worker dies after n8n answered and before the answer was recorded, the
# trigger is left 'sending', and only n8n knows that it arrived.  The next
# leader marks it 'unknown' and looks it up among n8n's executions of the
# workflow by its key (worker/track_find.c, GET /api/v1/executions?includeData=true).
if "$ORCH_WORKER_BIN" --version | grep -q fault-injection; then
  stack_stop_worker TERM
  PROBE_ANSWER='{"mode":"crypto","intensity":"normal","workflows":["sys.silent-check"],"next_decision_seconds":600,"reason":"e2e: the silent check, its worker killed","confidence":0.8}'
  standin_config "{\"llm_content\":$PROBE_ANSWER}" || bail "stand-in LLM answers the silent check"
  # the two workers on the same afternoon as the first, in the stand-in's clock
  FAKED=(LD_PRELOAD="$FAKETIME_LIB" FAKETIME="-$fake_secs" FAKETIME_DONT_FAKE_MONOTONIC=1)
  NC_KEY=
  if killed_at_force wu answer.before_record "${FAKED[@]}"; then
    NC_KEY=$(sql "SELECT t.idempotency_key FROM triggers t JOIN control_commands c ON c.decision_id = t.decision_id
                   WHERE c.id = $CMD AND t.workflow = 'sys.silent-check'")
  fi
  [ -n "$NC_KEY" ] || stack_kill wu 1
  check "a worker killed (SIGKILL at answer.before_record) after n8n answered sys.silent-check: left 'sending' (key ${NC_KEY:-none}, status ${DEAD_STATUS:-alive})" \
    test -n "$NC_KEY" -a "$(nc_col status)" = sending
  wk wv TRACK_POLL_SECONDS=1 "${FAKED[@]}"
  check "the next worker leads" wait_for 30 is_leader wv
  found_sent() { [ "$(nc_col status)" = sent ] && [ -n "$(nc_col execution_id)" ]; }
  check "the next leader finds the execution in n8n by the trigger's key: 'sent' ($(nc_col "status || ' ' || coalesce(execution_id, '-')"))" \
    wait_for 90 found_sent
  # what n8n ran for that key: the executions of the workflow whose data carries it
  NWID=$(sql "SELECT n8n_id FROM workflow_state WHERE workflow = 'sys.silent-check'")
  carriers=$(curl -s --max-time 10 -H "X-N8N-API-KEY: $N8N_KEY" "$N8N/api/v1/executions?workflowId=$NWID&includeData=true&limit=100" |
    jpy "sorted(str(e['id']) for e in d['data'] if json.dumps('$NC_KEY') in json.dumps(e))")
  check "... the execution n8n ran for that key, and n8n ran only one (recorded $(nc_col execution_id), n8n: $carriers)" \
    test "$carriers" = "[\"$(nc_col execution_id)\"]"
  check "... the log says so (trigger.reconciled, found)" grep -q '"trigger.reconciled".*"result":"found"' "$T/log/wv.log"
  check "... sent once: attempts 1 ($(nc_col attempts))" test "$(nc_col attempts)" = 1
  nc_done() { [ "$(nc_col "coalesce(outcome, '') || ' ' || coalesce(execution_status, '')")" = "succeeded success" ]; }
  check "... and followed to its end: outcome succeeded, n8n status success" wait_for 60 nc_done
  stop_timed wv TERM
else
  note "not a fault-injection build: the killed worker's lookup in n8n is checked by the test builds"
fi

# ---- metrics, secrets ---------------------------------------------------------------------------

api GET /metrics
cp "$BODY" "$T/metrics.txt"
promtool_check "$T/metrics.txt"
check "/metrics: the custom names as workflow labels" \
  grep -Eq '^orchestrator_triggers_total\{workflow="desk/fx-majors"\} [1-9][0-9]*$' "$T/metrics.txt"
leaks=$(grep -rlF -e "$TOKEN" -e "$RTOKEN" -e "$N8N_KEY" -e "$HOOK_VALUE" -e "$LLM_KEY" -e "$TM_KEY" \
        --exclude=standin.log --exclude=standin-b.log --exclude=n8n-start.log "$T/log" "$T/answers" | sed "s|^$T/||" | tr '\n' ' ')
check "no secret in our logs or API answers${leaks:+ (found in: $leaks)}" test -z "$leaks"
