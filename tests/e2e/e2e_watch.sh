#!/usr/bin/env bash
# End-to-end test of the watch (worker/watch.c, worker/watch_live.c): the real
# PostgreSQL, nginx, orch-api and orch-worker, with tests/standin/standin.py
# as DexScreener (prices on a random walk, then a jump), TraderMade, n8n and
# the LLM.  WATCH_SECONDS=10 and WATCH_WINDOW_MINUTES=1.
#
# 1. The worker samples the markets every WATCH_SECONDS; /status, /metrics
#    show each source's budget, spend and interval; TRADERMADE_BUDGET nearly
#    spent for the day (a few requests left for hours) makes the watch sample
#    TraderMade far less often, and /status says why.
# 2. The watch's history survives a restart: it is saved at a clean stop,
#    given two hours of trailing windows here (edited in watch_state, the
#    way a long-running worker would have saved it) and loaded by the next
#    leader, whose threshold then comes from it.
# 3. With prices still, the watch samples and never calls the LLM and wakes
#    nothing.  Prices jump: a decision is woken within two watch intervals,
#    with its wake reason (event, market, signal, value, threshold) in
#    /decisions, the database and the LLM's prompt.
# 4. The live scorecard of the day is written (watch_days) and shown in
#    /status and /metrics.
#
# Run by `make check`; by hand:  top_builddir=/path/to/build bash tests/e2e/e2e_watch.sh
# Output: one `ok - ...` / `not ok - ...` line per check, then
# `N passed, N failed`.  Exit 0 when nothing failed, else 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_watch
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
e2e_begin

WATCH=10
standin() { curl -s --max-time 5 -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$SA$2"; }
llm_count() { standin GET '/_standin/requests/count?prefix=/llm/' | jpy 'd["count"]'; }
dex_count() { standin GET '/_standin/requests/count?prefix=/dex/latest/dex/search' | jpy 'd["count"]'; }
# st EXPR: EXPR over the latest /status
st() { api GET /status; [ "$CODE" = 200 ] && jpy "$1" < "$BODY"; }
sis() { [ "$(st "$1")" = true ]; }

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] || bail "binaries built"
PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
standin_start
standin_config '{"dex_walk_bp": 20, "tradermade_key": "test-tm-key"}' || bail "stand-in configured"
TOKEN=$(rnd 24)
export ORCHESTRATOR_API_TOKEN=$TOKEN HEARTBEAT_SECONDS=1 PROBE_TIMEOUT_MS=2000
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=test-tm-key
export N8N_BASE_URL=$SA/n8n LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=llm-$(rnd 6) LLM_TIMEOUT_MS=3000
export DECISION_MIN_SECONDS=60 DECISION_MAX_SECONDS=3600
export WATCH_SECONDS=$WATCH WATCH_WINDOW_MINUTES=1 TRADERMADE_BUDGET=30/day
stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" && break; done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
stack_start_worker || bail "orch-worker started"

# ---- 1. sampling, budgets ------------------------------------------------------------

sampled() { sis 'd["watch"]["active"] and (d["watch"]["sources"]["dexscreener"]["samples"] or 0) >= 5'; }
check "/status watch: the worker samples DexScreener pairs (active, samples counted)" wait_for 40 sampled
check "/status watch: DexScreener watched every ${WATCH} s, not stretched, its 300/minute budget and spend shown" \
  sis "(lambda s: s['watched'] and s['interval_seconds'] == $WATCH and s['stretched'] is False and s['limits']['minute'] == 300 and sum(s['used'].values()) >= 1)(d['watch']['sources']['dexscreener'])"
check "TRADERMADE_BUDGET=30/day nearly spent: TraderMade sampled far less often than every ${WATCH} s, and /status says why" \
  sis "(lambda s: s['watched'] and s['stretched'] is True and s['interval_seconds'] > 10 * $WATCH and 'day' in (s['why'] or '') and s['limits']['day'] == 30)(d['watch']['sources']['tradermade'])"
note "tradermade: $(st 'd["watch"]["sources"]["tradermade"]')"
api GET /metrics
cp "$BODY" "$T/metrics1.txt"
check "/metrics: budget limits, spend and the watch's interval per source" \
  eval 'grep -q "^orchestrator_source_budget_limit{source=\"tradermade\",period=\"day\"} 30$" "$T/metrics1.txt" &&
        grep -q "^orchestrator_source_budget_used{source=\"dexscreener\",period=\"minute\"} [0-9]" "$T/metrics1.txt" &&
        grep -q "^orchestrator_watch_interval_seconds{source=\"dexscreener\"} $WATCH$" "$T/metrics1.txt" &&
        awk -F" " "/^orchestrator_watch_interval_seconds\{source=\"tradermade\"\}/ { exit !(\$2 > 100) }" "$T/metrics1.txt"'
if command -v promtool >/dev/null; then
  check "promtool check metrics: silent" eval 'promtool check metrics < "$T/metrics1.txt" >"$T/promtool.out" 2>&1 && [ ! -s "$T/promtool.out" ]'
fi

# ---- 2. the history survives a restart -----------------------------------------------------

startup() { [ "$(sql "SELECT count(*) FROM decisions WHERE wake = 'startup'")" -ge 1 ]; }
check "the worker's first decision says it was made at startup (decisions.wake)" wait_for 30 startup
stack_stop_worker TERM
check "the worker stops cleanly (exit 0, got $STACK_WORKER_STATUS)" test "$STACK_WORKER_STATUS" = 0
check "its watch state was saved at the stop (watch_state: instruments, budgets)" \
  test "$(sql "SELECT jsonb_array_length(state->'instruments') > 0 AND budgets ? 'dexscreener' FROM watch_state")" = t
# two hours of trailing windows for every crypto instrument (activity 0.002 a
# window) and their market (peaks spread from 1 to 3): what a worker running
# for two hours at that activity would have saved
sql "SELECT state::text FROM watch_state" > "$T/state.json"
"$PYTHON" - "$T/state.json" > "$T/state2.json" <<'EOF' || bail "watch state edited"
import json, sys, time
s = json.load(open(sys.argv[1]))
w = int(s["window_s"])
now = int(time.time()) // w * w
t0 = now - 120 * w
for i in s["instruments"]:
    if i["market"] == "crypto":
        i["totals"] = {"t0": t0, "dt": w, "v": [0.002] * 120}
        i["win"] = 0
        i["at"] = 0
        i["part"] = 0
m = s["markets"]["crypto"]
m["peaks"] = {"t0": t0, "dt": w, "v": [1 + 2 * k / 119 for k in range(120)]}
m.update({"win": 0, "win_max": 0, "woke_win": 0, "quiet_win": 0})
print(json.dumps(s))
EOF
echo "UPDATE watch_state SET state = :'st'::jsonb" | pg_psql -d orchestrator -v "st=$(cat "$T/state2.json")" ||
  bail "watch state written"
standin_config '{"dex_walk_bp": 0}' || bail "prices still"
stack_start_worker || bail "orch-worker restarted"
loaded() { grep -q '"event":"watch.loaded"' "$T/log/worker.log"; }
check "the restarted worker loads the saved watch (log watch.loaded)" wait_for 20 loaded
# the threshold: the quantile its share of windows reached; with two hours of
# history the watch is still in its first week (worker/watch.c WATCH_RAMP_*):
# its share is 0.5 coming down to WATCH_EVENT_SHARE over 7 days of windows
want_thr=$("$PYTHON" -c 'share = 0.32 + (0.5 - 0.32) * (1 - 120 / (7 * 1440)); print(1 + 2 * int((1 - share) * 119 + 0.5) / 119)')
threshold() { sis "(lambda m: m['covered'] and m['windows'] >= 120 and abs(m['threshold'] - $want_thr) < 1e-3)(d['watch']['markets']['crypto'])"; }
check "/status watch: crypto's threshold comes from the loaded history (120 windows: $want_thr)" \
  wait_for 30 threshold
note "crypto: $(st 'd["watch"]["markets"]["crypto"]')"

# ---- 3. still prices: no LLM, no wake; a jump wakes a decision ----------------------------

# (the restarted worker keeps the schedule the last decision set: no decision at its start)
# the next window after that decision's (a scan in a window keeps the watch quiet in it)
next_window() { [ "$(sql "SELECT date_trunc('minute', now()) > date_trunc('minute', max(decided_at)) FROM decisions")" = t ]; }
wait_for 70 next_window || bail "a window without a scan"
n_llm=$(llm_count) n_dec=$(last_decision) n_dex=$(dex_count)
more_samples() { [ "$(dex_count)" -ge $((n_dex + 3)) ]; }
wait_for 60 more_samples
check "the watch sampled DexScreener 3 more times ($n_dex -> $(dex_count)) with no LLM call ($n_llm -> $(llm_count)) and no decision" \
  eval '[ "$(llm_count)" = "$n_llm" ] && [ "$(last_decision)" = "$n_dec" ]'
check "prices still: the crypto activity score is 0 and nothing was woken" \
  sis "d['watch']['markets']['crypto']['score'] == 0 and d['watch']['decisions_24h']['event'] == 0"

t_jump=$(date +%s%N)
standin_config '{"dex_price_factor": 1.03}' || bail "prices jump 3%"
woken() { [ "$(sql "SELECT count(*) FROM decisions WHERE id > $n_dec AND wake = 'event'")" -ge 1 ]; }
if wait_for $((4 * WATCH + 20)) woken; then
  EV=$(sql "SELECT min(id) FROM decisions WHERE id > $n_dec AND wake = 'event'")
  ok "the price jump woke a decision (#$EV, wake event)"
else
  bail "the price jump woke a decision (decisions since: $(sql "SELECT string_agg(id || ':' || wake, ' ') FROM decisions WHERE id > $n_dec"))"
fi
# when the watch saw it: its log line, against the jump (ms)
ev_ms=$("$PYTHON" - "$T/log/worker.log" <<'EOF'
import datetime, json, sys
last = 0
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "watch.event" and e.get("market") == "crypto":
        t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        last = int(t.timestamp() * 1000)
print(last)
EOF
)
lag=$(( ev_ms - t_jump / 1000000 ))
check "the watch woke it within two watch intervals of the jump (${lag} ms <= $((2 * WATCH)) s)" \
  test "$lag" -ge 0 -a "$lag" -le $((2 * WATCH * 1000))
check "the database records why: wake 'event', crypto, the signal, its value over the threshold" \
  test "$(sql "SELECT wake_detail->>'market' = 'crypto' AND wake_detail->>'signal' LIKE 'activity:dex:%'
                 AND (wake_detail->>'value')::float8 >= (wake_detail->>'threshold')::float8
                 AND (wake_detail->>'value')::float8 > 5 FROM decisions WHERE id = $EV")" = t
api GET "/decisions?limit=10"
check "GET /decisions: the decision carries wake 'event' and its detail" \
  is "(lambda r: r['wake'] == 'event' and r['wake_detail']['market'] == 'crypto' and r['wake_detail']['value'] > r['wake_detail']['threshold'])([x for x in d['decisions'] if x['id'] == $EV][0])" < "$BODY"
check "GET /decisions: the first decision says it was made at startup" \
  is "sum(1 for x in d['decisions'] if x['wake'] == 'startup') == 1 and d['decisions'][-1]['wake'] == 'startup'" < "$BODY"
api GET "/decisions/$EV"
check "GET /decisions/$EV: its inputs hold the wake reason and the watch's figures" \
  is "d['wake'] == 'event' and d['inputs']['wake']['reason'] == 'event' and d['inputs']['watch']['crypto']['watched'] is True" < "$BODY"
prompt_has_wake() {
  standin GET "/_standin/requests?prefix=/llm/&method=POST" | "$PYTHON" -c '
import json, sys
reqs = json.load(sys.stdin)
def user(r):
    b = r.get("body") or {}
    return " ".join(m.get("content", "") for m in b.get("messages", []) if m.get("role") == "user")
ok = False
for r in reqs:
    try:
        o = json.loads(user(r))["observations"]
    except (ValueError, KeyError, TypeError):
        continue
    if o.get("wake", {}).get("reason") == "event" and o["wake"].get("market") == "crypto" and "watch" in o:
        ok = True
sys.exit(0 if ok else 1)'
}
check "the LLM's prompt says why it decides now (observations.wake: event, crypto) and gives the watch's figures" prompt_has_wake
check "the woken decision was decided by the LLM (one call per decision, none by the watch)" \
  test "$(sql "SELECT source FROM decisions WHERE id = $EV")" = llm
check "/status: the last 24 hours' decisions by wake count the event" wait_for 10 sis "d['watch']['decisions_24h']['event'] >= 1"
# the same window never wakes twice
sleep $((2 * WATCH))    # what is tested: no second wake comes in the same window
check "one wake per window: no second event decision in the jump's window" \
  test "$(sql "SELECT count(*) FROM decisions WHERE id > $n_dec AND wake = 'event'
                 AND date_trunc('minute', decided_at) = (SELECT date_trunc('minute', decided_at) FROM decisions WHERE id = $EV)")" = 1

note "scorecard: $(st 'd["watch"]["scorecard"]')"
# ---- 4. the live scorecard -------------------------------------------------------------------

scored() { [ "$(sql "SELECT count(*) FROM watch_days WHERE market = 'crypto' AND day = (now() AT TIME ZONE 'UTC')::date AND windows >= 1")" = 1 ]; }
check "the live scorecard of today is stored (watch_days, crypto)" wait_for 90 scored
check "/status watch.scorecard: today's crypto row and the 30-day summary" \
  wait_for 10 sis "(lambda c: len(c) >= 1 and sum(x['runs'] for x in c) >= 1 and all(x['windows'] >= 1 and x['top'] >= 1 for x in c))([x for x in d['watch']['scorecard']['days'] if x['market'] == 'crypto']) and d['watch']['scorecard']['summary']['crypto']['days'] >= 1"
api GET /metrics
check "/metrics: today's scorecard and the 24-hour decisions by wake" \
  eval 'grep -q "^orchestrator_scorecard_today_runs{market=\"crypto\"} [0-9]" "$BODY" &&
        grep -q "^orchestrator_decisions_24h{wake=\"event\"} [1-9]" "$BODY" &&
        grep -q "^orchestrator_watch_threshold{market=\"crypto\"} " "$BODY"'

stack_stop_worker TERM
check "no secret in the worker's log" eval '! grep -q -e "$TOKEN" -e "$LLM_API_KEY" -e test-tm-key "$T/log/worker.log"'
