#!/usr/bin/env bash
# End-to-end test of what the API shows of replay and learning: the real
# PostgreSQL, nginx, orch-api and orch-worker (tests/standin/standin.py
# standing in for the market data sources), and worker/orch-replay on one
# day of the recorded crypto bars in ../shared/data/crypto, stored in the
# same database.  Every check goes through nginx with curl:
#   /replays lists the run with the coverage and run counts orch-replay
#   printed; /replays/{id} has the full scorecard; /replays/{id}/svg is
#   image/svg+xml with a restrictive Content-Security-Policy and nosniff and
#   starts with <svg; bad parameters and unknown ids answer 400/404 JSON;
#   /status has "learning" after a worker decision; /metrics has the
#   learning gauges and passes promtool.
#
# Run by `make check`; by hand:  top_builddir=/path/to/build bash tests/e2e/e2e_replay.sh
# Environment: KEEP_TMP=1 keeps the state directory; HOLD_SECONDS=N keeps the
# stack up N seconds after the checks (its URL is printed) to look at the
# dashboard.  Output: `ok - ...` / `not ok - ...` lines, then
# `N passed, N failed`.  Exit 0 when nothing failed, else 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

E2E_NAME=e2e_replay
# shellcheck source=../lib/e2e.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/e2e.sh"
REPLAY_BIN=${ORCH_REPLAY_BIN:-$top_builddir/worker/orch-replay}
e2e_begin
E2E_EXTRA_LOGS=$T/replay.err

# ---- start -----------------------------------------------------------------------

[ -x "$ORCH_WORKER_BIN" ] && [ -x "$ORCH_API_BIN" ] && [ -x "$REPLAY_BIN" ] ||
  bail "binaries built ($ORCH_WORKER_BIN, $ORCH_API_BIN, $REPLAY_BIN)"
CRYPTO=$(ls "$SHARED_DATA"/crypto/*.csv.gz 2>/dev/null | head -n 2)
[ -n "$CRYPTO" ] || bail "crypto data in $SHARED_DATA/crypto"

PG_FAST=1 stack_start_pg || bail "PostgreSQL started"
ok "PostgreSQL started and migrated"

standin_start

export LOG_LEVEL=${LOG_LEVEL:-info}
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun
export TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=test-tm-key
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=30 HEARTBEAT_SECONDS=1
export PROBE_TIMEOUT_MS=1500 WEBHOOK_TIMEOUT_MS=2000

stack_start_api 2 || bail "orch-api started"
for _ in 1 2 3; do
  port=$(stack_free_port)
  stack_start_nginx "$port" && break
done
[ -n "$STACK_PORT" ] || bail "nginx started"
BASE=http://127.0.0.1:$STACK_PORT
ok "orch-api (2 processes) behind nginx on $BASE"

# ---- the replay ----------------------------------------------------------------------

# shellcheck disable=SC2086
if "$REPLAY_BIN" --from 2025-01-01 --to 2025-01-02 $CRYPTO > "$T/replay.out" 2> "$T/replay.err"; then
  ok "orch-replay stored one day of $(echo "$CRYPTO" | wc -l) crypto instrument(s)"
else
  bail "orch-replay exit status 0"
fi
RUN=$(sed -n 's/^replay: .*, run \([0-9][0-9]*\)$/\1/p' "$T/replay.err" "$T/replay.out" | head -n 1)
# "crypto: orchestrator covers 100.0% of the top windows (market-hours cron-5: 100.0%) = ... with 200 runs =
#  34.7% of market-hours cron-5's 576 ...: target met"   (the target's basis; for crypto the same as cron-5)
# "crypto: equal-runs cron (market hours, every 15.2 min, 189 runs) covers 96.5%: orchestrator +3.5 points"
LINE=$(grep -h '^crypto: orchestrator covers' "$T/replay.out" "$T/replay.err" | head -n 1)
P_COV=$(echo "$LINE" | sed -n 's/^crypto: orchestrator covers \([0-9.]*\)%.*/\1/p')
P_C5COV=$(echo "$LINE" | sed -n 's/.*(market-hours cron-5: \([0-9.]*\)%).*/\1/p')
P_RUNS=$(echo "$LINE" | sed -n 's/.* with \([0-9]*\) runs = .*/\1/p')
P_C5RUNS=$(echo "$LINE" | sed -n "s/.* of market-hours cron-5's \\([0-9]*\\) .*/\\1/p")
P_MET=$(case "$LINE" in *": target met"*) echo true;; *) echo false;; esac)
EQLINE=$(grep -h '^crypto: equal-runs cron' "$T/replay.out" "$T/replay.err" | head -n 1)
P_EQRUNS=$(echo "$EQLINE" | sed -n 's/.* min, \([0-9]*\) runs) covers .*/\1/p')
P_EQCOV=$(echo "$EQLINE" | sed -n 's/.* runs) covers \([0-9.]*\)%.*/\1/p')
[ -n "$RUN" ] && [ -n "$P_COV" ] && [ -n "$P_RUNS" ] && [ -n "$P_C5RUNS" ] && [ -n "$P_C5COV" ] &&
  [ -n "$P_EQRUNS" ] && [ -n "$P_EQCOV" ] ||
  bail "orch-replay printed its run id and the crypto summary (run '$RUN', lines '$LINE' '$EQLINE')"
note "run $RUN: orchestrator $P_COV% with $P_RUNS runs, market-hours cron-5 $P_C5COV% with $P_C5RUNS runs, equal-runs cron $P_EQCOV% with $P_EQRUNS runs, target met $P_MET"

api GET /replays
cp "$BODY" "$T/replays.json"
check "GET /replays -> 200 application/json (got $CODE $(hdr Content-Type))" \
  eval '[ "$CODE" = 200 ] && hdr Content-Type | grep -q "^application/json"'
item="[r for r in d['replays'] if r['id'] == $RUN][0]"
m="$item['scorecard_summary']['markets']['crypto']"
check "/replays lists run $RUN as succeeded with files, from/to, decisions and timings" \
  is "(lambda r: r['status'] == 'succeeded' and len(r['files']) >= 1 and r['from'].startswith('2025-01-01') and r['to'].startswith('2025-01-02') and r['decisions'] > 0 and isinstance(r['timings'], dict) and r['svg'] is True)($item)" < "$T/replays.json"
check "/replays: crypto coverage $P_COV% and market-hours cron-5 coverage $P_C5COV% as orch-replay printed" \
  is "'%.1f' % ($m['coverage'] * 100) == '$P_COV' and '%.1f' % ($m['market_hours_cron5_coverage'] * 100) == '$P_C5COV'" < "$T/replays.json"
check "/replays: crypto runs $P_RUNS and market-hours cron-5 runs $P_C5RUNS as orch-replay printed, target met $P_MET (basis market-hours-cron-5)" \
  is "$m['runs'] == $P_RUNS and $m['market_hours_cron5_runs'] == $P_C5RUNS and $m['target_basis'] == 'market-hours-cron-5' and $m['target_met'] is $( [ "$P_MET" = true ] && echo True || echo False)" < "$T/replays.json"
check "/replays: crypto never closes, so 24/7 cron-5 is the market-hours one" \
  is "$m['cron5_runs'] == $m['market_hours_cron5_runs'] and $m['cron5_coverage'] == $m['market_hours_cron5_coverage'] and $m['target_met_vs_cron5'] == $m['target_met']" < "$T/replays.json"
check "/replays: the equal-runs cron ($P_EQRUNS runs, $P_EQCOV%) as orch-replay printed" \
  is "$m['equal_runs_cron_runs'] == $P_EQRUNS and '%.1f' % ($m['equal_runs_cron_coverage'] * 100) == '$P_EQCOV' and abs($m['equal_runs_cron_runs'] - $P_RUNS) <= 1 and $m['policies']['equal-runs-cron']['period_s'] == $m['equal_runs_cron_period_s']" < "$T/replays.json"
check "/replays: per-policy figures for orchestrator, cron-5, cron-15, cron-60, market-hours-cron-5 and equal-runs-cron" \
  is "sorted($m['policies']) == ['cron-15', 'cron-5', 'cron-60', 'equal-runs-cron', 'market-hours-cron-5', 'orchestrator'] and $m['policies']['orchestrator']['runs'] == $P_RUNS" < "$T/replays.json"
check "/replays: no server paths in files" \
  is "all('/' not in f['file'] and 'path' not in f for f in $item['files'])" < "$T/replays.json"

api GET "/replays/$RUN"
check "GET /replays/$RUN -> 200 with the full scorecard (instruments and policies)" \
  eval '[ "$CODE" = 200 ] && is "len(d[\"scorecard\"][\"instruments\"]) >= 1 and all(len(i[\"policies\"]) >= 5 for i in d[\"scorecard\"][\"instruments\"]) and d[\"id\"] == $RUN" < "$BODY"'

api GET "/replays/$RUN/svg"
check "GET /replays/$RUN/svg -> 200 image/svg+xml (got $CODE $(hdr Content-Type))" \
  eval '[ "$CODE" = 200 ] && [ "$(hdr Content-Type)" = image/svg+xml ]'
check "the picture starts with <svg" eval '[ "$(head -c 4 "$BODY")" = "<svg" ]'
check "the picture carries CSP default-src 'none' and nosniff" \
  eval 'hdr Content-Security-Policy | grep -q "default-src '"'"'none'"'"'" && [ "$(hdr X-Content-Type-Options)" = nosniff ]'

api GET /replays/999999
check "GET /replays/999999 -> 404 not_found JSON (got $CODE)" \
  eval '[ "$CODE" = 404 ] && is "d[\"code\"] == \"not_found\"" < "$BODY"'
api GET /replays/999999/svg
check "GET /replays/999999/svg -> 404 JSON (got $CODE)" eval '[ "$CODE" = 404 ] && is "d[\"code\"] == \"not_found\"" < "$BODY"'
for q in 'limit=0' 'limit=101' 'limit=x' 'limit=1&limit=2' 'foo=1'; do
  api GET "/replays?$q"
  check "GET /replays?$q -> 400 bad_parameter (got $CODE)" \
    eval '[ "$CODE" = 400 ] && is "d[\"code\"] == \"bad_parameter\" and isinstance(d[\"error\"], str)" < "$BODY"'
done
api GET '/replays?limit=1'
check "GET /replays?limit=1 -> one run" eval '[ "$CODE" = 200 ] && is "len(d[\"replays\"]) == 1" < "$BODY"'
api GET /replays/abc
check "GET /replays/abc -> 400 (got $CODE)" test "$CODE" = 400

# ---- learning from the live worker ---------------------------------------------------

stack_start_worker || bail "orch-worker started"
learned() {
  api GET /status
  [ "$CODE" = 200 ] && is 'isinstance(d.get("learning"), dict) and isinstance(d["learning"].get("markets"), dict) and len(d["learning"]["markets"]) > 0' < "$BODY"
}
if wait_for 20 learned; then ok "/status has learning (markets) after a worker decision"
else not_ok "/status has learning after a worker decision (last: HTTP $CODE $(head -c 300 "$BODY"))"; fi
cp "$BODY" "$T/status.json"

api GET /metrics
cp "$BODY" "$T/metrics.txt"
has_gauges() {
  local g
  for g in activity_ratio expected_opportunities expected_opportunities_lower expected_opportunities_upper next_seconds \
           session_runs session_expected_opportunities session_expected_opportunities_lower session_expected_opportunities_upper; do
    grep -q "^orchestrator_learning_${g}{" "$T/metrics.txt" || { note "no sample of orchestrator_learning_$g"; return 1; }
  done
}
# the per-session gauges: 2 markets x 9 session buckets x 3 intensities at most, known labels only
session_labels_bounded() {
  local n bad
  n=$(grep -c '^orchestrator_learning_session_expected_opportunities{' "$T/metrics.txt")
  bad=$(sed -n 's/^orchestrator_learning_session_[a-z_]*{market="\([^"]*\)",session="\([^"]*\)",intensity="\([^"]*\)"}.*/\1 \2 \3/p' "$T/metrics.txt" |
        grep -Ev '^(crypto|forex) (sydney|sydney_tokyo|tokyo|tokyo_london|london|london_newyork|newyork|off_hours|closed) (aggressive|normal|light)$' | head -n 1)
  [ "$n" -ge 1 ] && [ "$n" -le 54 ] && [ -z "$bad" ] || { note "session series: $n, unexpected labels: '$bad'"; return 1; }
}
check "/metrics has orchestrator_learning_activity_ratio, _expected_opportunities{,_lower,_upper}, _next_seconds and the per-session _session_* gauges" \
  has_gauges
check "/metrics: the per-session gauges have bounded, known label sets" session_labels_bounded
check "/status: learning has per-session outcomes with 90% intervals" \
  is "all(isinstance(m['sessions'][s]['outcomes'][i]['opportunities_90'], list) for m in d['learning']['markets'].values() for s in m['sessions'] for i in ('aggressive', 'normal', 'light'))" < "$T/status.json"
if command -v promtool >/dev/null 2>&1; then
  promtool_out=$(promtool check metrics < "$T/metrics.txt" 2>&1)
  promtool_rc=$?
  [ -z "$promtool_out" ] || echo "$promtool_out" | sed 's/^/# promtool: /'
  check "promtool check metrics: silent, exit 0 (exit $promtool_rc)" test "$promtool_rc" = 0 -a -z "$promtool_out"
else
  not_ok "promtool found (scripts/setup-deps.sh installs it)"
fi

api GET /
check "the dashboard has the Learning and Replays panels and loads replay.js" \
  eval '[ "$CODE" = 200 ] && grep -q "id=\"learning\"" "$BODY" && grep -q "id=\"replays\"" "$BODY" && grep -q "replay.js" "$BODY"'

if [ -n "${HOLD_SECONDS:-}" ]; then
  note "holding the stack for $HOLD_SECONDS s at $BASE"
  sleep "$HOLD_SECONDS"
fi
