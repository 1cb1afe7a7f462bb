#!/usr/bin/env bash
# Benchmark (not a test): how fast the worker acts on control commands while
# it is busy.  A private stack (PostgreSQL, orch-api, nginx, the stand-in and
# one worker) where everything the worker waits for is slow -- each market
# probe, each LLM call and each webhook answer take BENCH_SLOW_SECONDS (2) --
# and decisions come every DECISION_MIN_SECONDS (5), so that the worker is
# nearly always in the middle of a probe, an LLM call or a delivery.  Then
# BENCH_COMMANDS (100) control commands are posted back to back (force,
# stop, start, in turn), and for each the delay from its insert (the NOTIFY)
# to the moment the worker acted on it (accepted_at for a force, whose
# decision follows; processed_at for start and stop) is read from
# control_commands, on the database's own clock.
#
# Prints p50, p90, p99 and max in milliseconds, and what the worker was doing
# (decisions made during the run).  Target: p99 <= 100 ms.
#
# Usage: scripts/bench_control.sh     (as root, like run.sh; builds ./build if needed)
# Environment: BENCH_COMMANDS (100), BENCH_SLOW_SECONDS (2), BUILD_DIR (./build),
#   BENCH_STRICT=1 to exit 1 when the target is missed.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$repo/build}
N=${BENCH_COMMANDS:-100}
SLOW=${BENCH_SLOW_SECONDS:-2}
say() { echo "bench_control: $*" >&2; }
die() { say "$*"; exit 1; }

# shellcheck source=bench_build.sh
. "$repo/scripts/bench_build.sh"
bench_build

E2E_NAME=bench_control
export top_srcdir=$repo top_builddir=$BUILD
# shellcheck source=../tests/lib/e2e.sh
. "$repo/tests/lib/e2e.sh"
e2e_begin >/dev/null

PG_FAST=1 stack_start_pg >/dev/null || die "PostgreSQL did not start"
standin_start
TOKEN=$(rnd 24)
RTOKEN=r-$(rnd 8)
export ORCHESTRATOR_API_TOKEN=$TOKEN ORCH_RESULTS_TOKEN=$RTOKEN LOG_LEVEL=warn
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun TRADERMADE_BASE_URL= BIRDEYE_BASE_URL=
export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=k LLM_TIMEOUT_MS=$((SLOW * 1000 + 3000)) LLM_CYCLE_BUDGET_MS=$((SLOW * 1000 + 4000))
export LLM_MAX_CALLS_PER_HOUR=4000
export N8N_BASE_URL=$SA/n8n WEBHOOK_TIMEOUT_MS=$((SLOW * 1000 + 3000))
export DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=5 PROBE_TIMEOUT_MS=$((SLOW * 1000 + 2000)) HEARTBEAT_SECONDS=1
stack_start_api 2 >/dev/null || die "orch-api did not start"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" >/dev/null && break; done
[ -n "$STACK_PORT" ] || die "nginx did not start"
BASE=http://127.0.0.1:$STACK_PORT
LLM_ANSWER='{"mode":"crypto","intensity":"light","workflows":["crypto-light-monitoring"],"next_decision_seconds":5,"reason":"bench"}'
standin_config "{\"slow_seconds\":$SLOW,\"llm_content\":$LLM_ANSWER,\"n8n_respond\":\"accepted\",
  \"n8n_claim\":{\"url\":\"$BASE/claims\",\"token\":\"$RTOKEN\"},
  \"behaviour\":{\"dex\":\"slow\",\"pumpfun\":\"slow\",\"llm\":\"slow\",\"n8n\":\"slow\"}}" || die "stand-in not configured"
stack_start_worker || die "orch-worker did not start"
leads() { [ "$(sql "SELECT count(*) FROM leader_lease WHERE holder IS NOT NULL AND released_at IS NULL")" = 1 ]; }
wait_for 20 leads || die "the worker did not take the lead"
sleep $((SLOW + 1))                               # let it get busy

first=$(sql "SELECT coalesce(max(id), 0) FROM control_commands")
d0=$(last_decision)
say "posting $N commands back to back while the worker waits on ${SLOW}s probes, LLM calls and webhooks"
cmds=(force-decision stop start)
t0=$(date +%s%N)
for ((i = 0; i < N; i++)); do
  curl -s -o /dev/null -X POST --max-time 10 -H "Authorization: Bearer $TOKEN" "$BASE/control/${cmds[i % 3]}"
done
post_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
acted() {
  [ "$(sql "SELECT count(*) FROM control_commands WHERE id > $first AND coalesce(accepted_at, processed_at) IS NULL")" = 0 ]
}
wait_for 60 acted || say "some commands were not acted on within 60 s"
read -r n p50 p90 p99 mx notyet <<<"$(sql "
  SELECT count(*),
         round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(accepted_at, processed_at) - requested_at))),
         round(1000 * percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(accepted_at, processed_at) - requested_at))),
         round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(accepted_at, processed_at) - requested_at))),
         round(1000 * max(extract(epoch FROM coalesce(accepted_at, processed_at) - requested_at))),
         count(*) FILTER (WHERE coalesce(accepted_at, processed_at) IS NULL)
    FROM control_commands WHERE id > $first" | tr '|' ' ')"
decisions=$(( $(last_decision) - d0 ))
echo
echo "control commands acted on while busy (${SLOW} s probes, LLM calls and webhooks; decisions every 5 s)"
printf '  commands posted: %d in %d ms (force, stop, start in turn)\n' "$n" "$post_ms"
printf '  delay from NOTIFY to action, ms:  p50 %s   p90 %s   p99 %s   max %s\n' "$p50" "$p90" "$p99" "$mx"
printf '  not acted on: %s;  decisions made meanwhile: %d\n' "$notyet" "$decisions"
target=met
[ "${p99:-999999}" -le 100 ] && [ "$notyet" = 0 ] || target=missed
echo "  target p99 <= 100 ms: $target"
PASSED=1
[ "${BENCH_STRICT:-0}" = 1 ] && [ "$target" = missed ] && FAILED=1
exit 0
