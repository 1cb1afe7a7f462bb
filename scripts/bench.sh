#!/usr/bin/env bash
# Benchmark (not a test): the API's throughput and tail latency through nginx,
# against two references on the same nginx:
#   hello    bench/hello.c, a bare libfcgi program (same socket setup, no keepalive)
#   static   files of the same size as each API answer, served by nginx itself
# It starts a private stack (PostgreSQL with a year of history: BENCH_DECISIONS
# decisions over BENCH_DAYS days with their triggers, results and LLM calls,
# generated with generate_series; orch-api, nginx, and the worker in dry run
# against the stand-in when that is there), times the API's cache fills with
# `orch-api --fill-bench` (target: under 10 ms), runs
# `wrk -t2 -c32 -d4s --latency` (3 rounds, medians) on /status, /decisions?limit=50,
# /metrics, the hello program and the static twins, and prints requests/s, p99,
# the ratios api/hello and api/static, and the RSS of every orch-api process
# before and after.  Targets: >= 0.5x static, >= 0.8x hello, p99 under 10 ms,
# < 10 MB RSS.
# Each API path is measured twice: as plain text (wrk's default, like curl
# without --compressed) and with "Accept-Encoding: gzip" (what browsers and
# Prometheus send), against a static twin of the same gzip bytes served by
# nginx's gzip_static.
#
# Usage: scripts/bench.sh            (as root, like run.sh; builds ./build if needed)
# Environment: BENCH_DECISIONS (1000000), BENCH_DAYS (365), BENCH_FILLS (200: fills timed per answer),
#   BENCH_SECONDS (4, per run), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
#   ORCH_API_PROCESSES (2, also the hello program's), BUILD_DIR (./build),
#   BENCH_STRICT=1 to exit 1 when a target is missed.
# Everything it starts is stopped on exit; its state directory is removed.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$repo/build}
SECS=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
PROCS=${ORCH_API_PROCESSES:-2}
NDEC=${BENCH_DECISIONS:-1000000}
NDAYS=${BENCH_DAYS:-365}
NFILLS=${BENCH_FILLS:-200}
case $NDEC$NDAYS$NFILLS in *[!0-9]*) echo "bench: BENCH_DECISIONS, BENCH_DAYS and BENCH_FILLS are numbers" >&2; exit 1;; esac
say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

command -v wrk >/dev/null 2>&1 || die "wrk not found: run scripts/setup-deps.sh"
command -v nginx >/dev/null 2>&1 || die "nginx not found: run scripts/setup-deps.sh"

# shellcheck source=bench_build.sh
. "$repo/scripts/bench_build.sh"
bench_build

export top_srcdir=$repo top_builddir=$BUILD
# shellcheck source=../tests/lib/stack.sh
. "$repo/tests/lib/stack.sh"
T=$(mktemp -d /tmp/orch-bench.XXXXXX) || exit 1
stack_init "$T" || die "cannot prepare $T"
trap 'stack_stop; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

say "compiling bench/hello.c"
cc -std=c11 -O2 -Wall -Wextra -o "$T/hello" "$repo/bench/hello.c" -lfcgi || die "cannot compile bench/hello.c"

say "starting PostgreSQL"
PG_FAST=1 stack_start_pg || die "PostgreSQL did not start"

# A year of history, generated in SQL: NDEC live decisions evenly over the
# last NDAYS days, two triggers each (an n8n execution with its outcome and
# duration), a result for every other trigger, an LLM call for four
# decisions in five, a control command now and then.  The row triggers that
# keep the API's totals are off while it runs (session_replication_role),
# and history_recount() counts the rows afterwards, in one pass.
say "generating $NDEC decisions over $NDAYS days with their triggers, results and LLM calls"
gen_t0=$(date +%s)
pg_psql -d orchestrator -q -v n="$NDEC" -v days="$NDAYS" <<'SQL' || die "could not generate the history"
SET session_replication_role = replica;
SET synchronous_commit = off;
INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu,
                       sessions, session, prev_mode, next_seconds, next_decision_at, dry_run,
                       status, completed_at, llm_outcome, llm_provider, llm_model, llm_prompt_tokens,
                       llm_completion_tokens, llm_latency_ms, agreement, shadow)
SELECT lpad(to_hex(i), 16, '0'), t.at,
       (ARRAY['crypto','forex','hybrid','standby'])[1 + i % 4],
       (ARRAY['aggressive','normal','light'])[1 + i % 3],
       (ARRAY['fallback','llm','forced'])[1 + i % 3],
       'bench: recorded decision ' || i || ' with a reason of a realistic length, naming the '
         || 'volatility, the open sessions and the sources that were unhealthy',
       jsonb_build_object('load1', 0.4, 'volatility', (i % 7) * 0.8, 'sessions', jsonb_build_array('london')),
       '{"modes":["crypto","forex","hybrid","standby"]}',
       ARRAY['london','newyork'], (ARRAY['london','london_newyork','tokyo','newyork','off_hours'])[1 + i % 5],
       (ARRAY['crypto','forex','hybrid','standby'])[1 + (i + i / 7) % 4],
       300, t.at + interval '300 seconds', false,
       (ARRAY['succeeded','partial','failed','no_action'])[1 + i % 4], t.at + interval '2 seconds',
       (ARRAY['ok','ok','timeout','rate_limited','not_configured'])[1 + i % 5], 'groq', 'llama-3.3-70b-versatile',
       900 + i % 400, 30 + i % 20, 200 + i % 3000, CASE WHEN i % 5 < 2 THEN i % 3 <> 0 END,
       CASE WHEN i % 5 < 2 THEN '{"mode":"crypto","intensity":"light","workflows":["crypto-light-monitoring"],"next_seconds":300}'::jsonb END
  FROM generate_series(1, :n) AS i,
       LATERAL (SELECT now() - (:n - i) * (:days * interval '1 day' / :n) AS at) t;
INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, http_status, attempts,
                      created_at, started_at, finished_at, latency_ms, execution_id, outcome, duration_ms,
                      opportunities, result_at, settled_at, learned_at)
SELECT d.id, w.name, 'orch-' || d.id || '-' || w.name, '{"parameters":{}}', 'sent', 200, 1 + (d.id % 7 = 0)::int,
       d.decided_at, d.decided_at, d.decided_at + interval '150 ms', 150 + d.id % 90, (d.id * 2 + w.k)::text,
       (ARRAY['succeeded','succeeded','failed','timed_out'])[1 + d.id % 4], 800 + (d.id % 50) * 1000,
       CASE WHEN d.id % 2 = 0 THEN (d.id % 5)::int END, CASE WHEN d.id % 2 = 0 THEN d.decided_at + interval '20 s' END,
       d.decided_at + interval '30 s', CASE WHEN d.id % 2 = 0 THEN d.decided_at + interval '30 s' END
  FROM decisions d, (VALUES (0, 'crypto-normal-scan'), (1, 'health-monitor-check')) AS w(k, name)
 WHERE d.run_id IS NULL
 ORDER BY d.id, w.k;
INSERT INTO llm_calls (decision_id, called_at, provider, model, http_status, outcome, latency_ms, prompt_tokens,
                       completion_tokens)
SELECT d.id, d.decided_at, 'groq', 'llama-3.3-70b-versatile', 200,
       CASE WHEN d.llm_outcome = 'ok' THEN 'ok' ELSE d.llm_outcome END, d.llm_latency_ms, d.llm_prompt_tokens,
       d.llm_completion_tokens
  FROM decisions d WHERE d.run_id IS NULL AND d.llm_outcome <> 'not_configured';
INSERT INTO results (trigger_id, execution_id, received_at, status, opportunities, duration_ms, body)
SELECT t.id, t.execution_id, t.result_at, CASE WHEN t.outcome = 'succeeded' THEN 'success' ELSE 'error' END,
       t.opportunities, t.duration_ms, '{"status":"success"}'
  FROM triggers t WHERE t.result_at IS NOT NULL;
INSERT INTO control_commands (command, requested_at, status, processed_at, result, decision_id)
SELECT 'force_decision', d.decided_at - interval '1 second', 'done', d.decided_at, 'decided', d.id
  FROM decisions d WHERE d.run_id IS NULL AND d.source = 'forced' AND d.id % 101 = 0;
INSERT INTO probes (source, probed_at, ok, latency_ms, http_status)
SELECT (ARRAY['dexscreener','pumpfun','tradermade','birdeye'])[1 + i % 4],
       now() - i * interval '30 seconds', i % 5 <> 0, 80 + i % 50, 200
  FROM generate_series(1, 800) AS i;
SET session_replication_role = origin;
DO $$ BEGIN PERFORM history_recount(); END $$;
UPDATE worker_state SET last_decision_id = (SELECT max(id) FROM decisions), current_mode = 'crypto',
       heartbeat_at = now(), started_at = now(),
       sources = '{"dexscreener":{"ok":true,"latency_ms":80},"pumpfun":{"ok":false,"error":"HTTP 403"},
                   "tradermade":{"ok":true,"latency_ms":90},"birdeye":{"ok":true,"latency_ms":70}}';
SQL
pg_psql -d orchestrator -q -c "VACUUM ANALYZE" || die "VACUUM ANALYZE failed"
say "generated in $(( $(date +%s) - gen_t0 )) s: $(pg_psql -d orchestrator -At -c "SELECT count(*) || ' decisions, ' || (SELECT count(*) FROM triggers) || ' triggers, ' || (SELECT count(*) FROM results) || ' results, ' || (SELECT count(*) FROM llm_calls) || ' LLM calls, ' || pg_size_pretty(pg_database_size('orchestrator')) FROM decisions")"

say "starting orch-api ($PROCS processes) and hello ($PROCS processes)"
stack_start_api "$PROCS" || die "orch-api did not start"
hello_args=(--socket "$T/run/hello.sock" --processes "$PROCS" --socket-mode 0660)
[ "$(id -u)" = 0 ] && hello_args+=(--socket-group "$(id -gn www-data)")
stack_spawn hello "$T/log/hello.log" "$T/hello" "${hello_args[@]}"

mkdir -p "$T/nginx/orchestrator.d"
cat > "$T/nginx/orchestrator.d/bench.conf" <<EOF
# scripts/bench.sh: the reference FastCGI program, set up like the API
# the gzip twins: nginx sends FILE.gz as it is to clients that accept gzip
location /bench/gz/ {
    gzip_static always;
    add_header Vary Accept-Encoding;
}
location = /bench/hello {
    fastcgi_pass unix:$T/run/hello.sock;
    include fastcgi_params;
    fastcgi_keep_conn off;
}
EOF
port=$(stack_free_port)
NGINX_ACCESS_LOG=off stack_start_nginx "$port" || die "nginx did not start"
BASE=http://127.0.0.1:$port

# the worker, in dry run against the stand-in, keeps the state moving as in
# real use: its heartbeats (every 5 s) and decisions NOTIFY the API, which
# drops its cached answers
if [ -f "$repo/tests/standin/standin.py" ] && [ -d "${SHARED_DATA:-$repo/../shared/data}/fixtures" ]; then
  stack_spawn standin "$T/log/standin.log" "$PYTHON" -u "$repo/tests/standin/standin.py" --port 0 --quiet \
    --fixtures "${SHARED_DATA:-$repo/../shared/data}/fixtures"
  for _ in $(seq 50); do
    sport=$(sed -n 's/^standin listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$T/log/standin.log" | head -n 1)
    [ -n "$sport" ] && break
    sleep 0.1
  done
  if [ -n "${sport:-}" ]; then
    SA=http://127.0.0.1:$sport
    DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL=$SA/pumpfun TRADERMADE_BASE_URL=$SA/tradermade \
    TRADERMADE_API_KEY=test-tm-key BIRDEYE_BASE_URL=$SA/birdeye BIRDEYE_API_KEY=bench \
    N8N_BASE_URL='' DECISION_MIN_SECONDS=60 DECISION_MAX_SECONDS=60 HEARTBEAT_SECONDS=5 \
    LOG_LEVEL=warn stack_start_worker || say "the worker did not start: benchmarking without it"
  fi
fi
stack_wait_http "$BASE/status" 10 || die "/status does not answer 200 (see $T/log/api.log)"
stack_wait_http "$BASE/bench/hello" 10 || die "/bench/hello does not answer 200 (see $T/log/hello.log)"

# The cache fills, timed apart from the requests (which never wait for one:
# a thread of each orch-api process refreshes what they serve): the state
# behind /status, /metrics and /health, /decisions?limit=50 and
# /workflows/available, each built NFILLS times over the year of history.
echo "cache fills over $NDEC decisions (orch-api --fill-bench $NFILLS; target: median under 10 ms):"
FILL_OUT=$(LOG_LEVEL=warn "$ORCH_API_BIN" --fill-bench "$NFILLS" 2>&1) || { echo "$FILL_OUT"; die "orch-api --fill-bench failed"; }
echo "$FILL_OUT" | sed 's/^/  /'
FILL_MISSED=$(echo "$FILL_OUT" | awk '/^fill / { for (i = 1; i < NF; i++) if ($i == "median" && $(i + 1) + 0 >= 10) print "x" }')
echo

# static twins: each API answer saved as a file, just before its run
mkdir -p "$T/www/bench/gz"
chmod 755 "$T/www/bench" "$T/www/bench/gz"
GZ='Accept-Encoding: gzip'
twin() {
  curl -s "$BASE$1" -o "$T/www/bench/$2" && chmod 644 "$T/www/bench/$2" &&
  curl -s -H "$GZ" "$BASE$1" -o "$T/www/bench/gz/$2.gz" && chmod 644 "$T/www/bench/gz/$2.gz"
}

# rss_report: pid and VmRSS of every process in orch-api's process group
rss_report() {
  local pgid=${STACK_PID[api]} p st rss name
  for p in /proc/[0-9]*; do
    st=$(cat "$p/stat" 2>/dev/null) || continue
    st=${st##*) }                         # after "pid (comm) "
    set -- $st
    [ "$3" = "$pgid" ] || continue        # field 5: process group
    rss=$(awk '/^VmRSS:/ {print $2}' "$p/status" 2>/dev/null)
    name=$(cat "$p/comm" 2>/dev/null)
    printf '  pid %-7s %-12s %6.1f MB%s\n' "${p#/proc/}" "$name" "$(echo "${rss:-0}" | awk '{print $1 / 1024}')" \
      "$([ "${rss:-0}" -ge 10240 ] && echo '  (over the 10 MB target)')"
    [ "${rss:-0}" -lt 10240 ] || RSS_OVER=1
  done
}
RSS_OVER=0
echo "orch-api RSS before:"
rss_report

# The request header of each kind of run (none for the plain ones), and
# with_header HEADER: H set to the curl/wrk arguments that send it
declare -A HDR=([gz]=$GZ [static-gz]=$GZ)
with_header() { H=(); [ -z "${1:-}" ] || H=(-H "$1"); }
# bench KEY PATH [HEADER]: one wrk run; sets RPS[KEY] P99[KEY] ERRS[KEY] (KEY is NAME#ROUND)
declare -A RPS=() P99=() ERRS=() SIZE=() PATHOF=()
bench() {
  local key=$1 path=$2 out
  with_header "${3:-}"
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "${H[@]}" "$BASE$path" 2>&1)
  RPS[$key]=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  P99[$key]=$(echo "$out" | awk '$1 == "99%" {print $2}')
  ERRS[$key]=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
}
# size NAME PATH: the answer's bytes (with the header of NAME's kind)
size() {
  with_header "${HDR[${1#*/}]:-}"
  SIZE[$1]=$(curl -s "${H[@]}" "$BASE$2" | wc -c)
  PATHOF[$1]=$2
}
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# median of the arguments (numbers; "n/a" when none)
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# wrk's latencies ("850.00us", "1.23ms", "1.02s") in milliseconds
to_ms() { echo "${1:-}" | awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0; else if ($1 ~ /s$/) v *= 1000; print v }'; }

echo
echo "wrk -t$THREADS -c$CONNS -d${SECS}s --latency, $ROUNDS rounds (one second of warm-up before the first):"
# A shared machine drifts by tens of percent within a minute, so every
# round runs the API right between its references, and each ratio is the
# median of the rounds' ratios, each taken within one round.
NAMES="hello api static same gz static-gz"
for spec in "status /status status.json" "decisions /decisions?limit=50 decisions.json" \
            "metrics /metrics metrics.txt"; do
  read -r ep path file <<< "$spec"
  twin "$path" "$file"
  size "$ep/hello" /bench/hello
  size "$ep/api" "$path"
  size "$ep/static" "/bench/$file"
  size "$ep/same" "/bench/hello?bytes=${SIZE[$ep/api]}"
  size "$ep/gz" "$path"
  size "$ep/static-gz" "/bench/gz/$file"
  for n in $NAMES; do
    with_header "${HDR[$n]:-}"
    wrk -t"$THREADS" -c"$CONNS" -d1s "${H[@]}" "$BASE${PATHOF[$ep/$n]}" >/dev/null 2>&1
  done
  for r in $(seq "$ROUNDS"); do
    for n in $NAMES; do
      bench "$ep/$n#$r" "${PATHOF[$ep/$n]}" "${HDR[$n]:-}"
    done
  done
  for n in $NAMES; do
    rr=() pp=()
    for r in $(seq "$ROUNDS"); do rr+=("${RPS[$ep/$n#$r]:-}"); pp+=("$(to_ms "${P99[$ep/$n#$r]:-}")"); done
    RPS[$ep/$n]=$(median "${rr[@]}") P99[$ep/$n]=$(median "${pp[@]}")
    printf '%-20s %-26s %10s req/s  p99 %7s ms %6s bytes   rounds: %s\n' "$ep/$n" "${PATHOF[$ep/$n]}" \
      "${RPS[$ep/$n]}" "${P99[$ep/$n]}" "${SIZE[$ep/$n]}" "${rr[*]}"
  done
done

echo
MISSED=0
meets() { awk -v r="$1" -v t="$2" 'BEGIN { exit !(r != "n/a" && r >= t) }'; }
# a run with errors measured something else than the answer: it does not count
for k in "${!ERRS[@]}"; do
  if [ -n "${ERRS[$k]:-}" ] && [ "${ERRS[$k]}" != 0 ]; then
    echo "bench: $k had ${ERRS[$k]} non-2xx answers: its figures are not valid"
    MISSED=1
  fi
done
# mratio EP A B: the median over the rounds of RPS[EP/A#r] / RPS[EP/B#r]
mratio() {
  local v=() r
  for r in $(seq "$ROUNDS"); do v+=("$(ratio "${RPS[$1/$2#$r]:-}" "${RPS[$1/$3#$r]:-}")"); done
  median "${v[@]}"
}
# row LABEL EP API STATIC SAME: one line of the table (SAME may be -)
MISSED_PLAIN=0 MISSED_GZ=0
row() {
  local label=$1 ep=$2 a=$3 st=$4 same=$5 rh rs rz mh=ok ms=ok
  rh=$(mratio "$ep" "$a" hello)
  rs=$(mratio "$ep" "$a" "$st")
  if [ "$same" = - ]; then rz=-; else rz=$(mratio "$ep" "$a" "$same"); fi
  meets "$rh" 0.8 || mh=MISSED
  meets "$rs" 0.5 || ms=MISSED
  p99ok=ok
  awk -v p="${P99[$ep/$a]:-}" 'BEGIN { exit !(p != "" && p != "n/a" && p + 0 < 10) }' || p99ok=over
  if [ "$mh$ms" != okok ]; then
    case $a in gz) MISSED_GZ=1 ;; *) MISSED_PLAIN=1 ;; esac
  fi
  printf '%-16s %7s %6s %-6s %6s %-6s %8s   %s (%s) / %s / %s (x%s of static)\n' "$label" "${SIZE[$ep/$a]}" "$rh" "$mh" \
    "$rs" "$ms" "$rz" "${P99[$ep/$a]}" "$p99ok" "${P99[$ep/hello]}" "${P99[$ep/$st]}" \
    "$(ratio "${P99[$ep/$a]}" "${P99[$ep/$st]}")"
}
printf '%-16s %7s %13s %13s %8s   %s\n' api bytes "api/hello" "api/static" "api/same" "p99: api (< 10 ms) / hello / static (ms)"
for ep in status decisions metrics; do
  row "$ep" "$ep" api static same
  row "$ep (gzip)" "$ep" gz static-gz -
done
echo "(medians over $ROUNDS rounds of ratios within a round, $NDEC decisions in the database.  Targets:"
echo " api/static >= 0.50, api/hello >= 0.80, p99 under 10 ms (absolute: a busy machine misses it for static too)."
echo " hello: the bare program's small answer; api/same: against the bare program sending a body of"
echo " the API answer's size, which shows what the bytes alone cost; (gzip): Accept-Encoding: gzip, as"
echo " browsers and Prometheus send, against nginx sending the same gzip bytes from a file; p99 x of"
echo " static: how much longer the API's slowest 1% take than nginx's from a file)"
[ -z "$FILL_MISSED" ] && echo "cache fills: median under 10 ms" || { echo "cache fills: some median over 10 ms"; MISSED=1; }
[ "$MISSED_GZ" = 0 ] && echo "gzip clients: every target met" || { echo "gzip clients: some targets missed"; MISSED=1; }
[ "$MISSED_PLAIN" = 0 ] && echo "plain clients: every target met" || { echo "plain clients: some targets missed"; MISSED=1; }
echo
echo "orch-api RSS after:"
rss_report
[ "$RSS_OVER" = 0 ] || MISSED=1
echo "(target: < 10 MB per FastCGI process)"
if [ "$MISSED" = 1 ]; then
  echo "bench: some targets missed"
  [ -n "${BENCH_STRICT:-}" ] && exit 1
fi
exit 0
