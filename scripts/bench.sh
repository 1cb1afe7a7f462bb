#!/usr/bin/env bash
# Benchmark (not a test): the API's throughput and tail latency through nginx,
# against two references on the same nginx:
#   hello    bench/hello.c, a bare libfcgi program (same socket setup, no keepalive)
#   static   files of the same size as each API answer, served by nginx itself
# It starts a private stack (PostgreSQL with ~200 recorded decisions, orch-api,
# nginx, and the worker in dry run against the stand-in when that is there),
# runs `wrk -t2 -c32 -d10s --latency` on /status, /decisions?limit=50,
# /metrics, the hello program and the static twins, and prints requests/s, p99,
# the ratios api/hello and api/static, and the RSS of every orch-api process
# before and after.  Targets: >= 0.8x hello, >= 0.25x static, < 10 MB RSS.
#
# Usage: scripts/bench.sh            (as root, like run.sh; builds ./build if needed)
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
#   ORCH_API_PROCESSES (2, also the hello program's), BUILD_DIR (./build),
#   BENCH_STRICT=1 to exit 1 when a target is missed.
# Everything it starts is stopped on exit; its state directory is removed.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$repo/build}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
PROCS=${ORCH_API_PROCESSES:-2}
say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

command -v wrk >/dev/null 2>&1 || die "wrk not found: run scripts/setup-deps.sh"
command -v nginx >/dev/null 2>&1 || die "nginx not found: run scripts/setup-deps.sh"

if [ ! -x "$BUILD/fcgi/orch-api" ] || [ ! -x "$BUILD/worker/orch-worker" ]; then
  say "building in $BUILD"
  (
    cd "$repo" && { [ -x configure ] || autoreconf -fi; } &&
    mkdir -p "$BUILD" && cd "$BUILD" && { [ -f Makefile ] || "$repo/configure" --quiet; } &&
    make -j"$(nproc)" >/dev/null
  ) || die "build failed"
fi

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

say "recording 200 decisions"
pg_psql -d orchestrator -q <<'SQL' || die "could not insert the decisions"
INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu,
                       sessions, session, prev_mode, next_seconds, next_decision_at, dry_run,
                       status, completed_at)
SELECT lpad(to_hex(i), 16, '0'),
       now() - (201 - i) * interval '5 minutes',
       (ARRAY['crypto','forex','hybrid','standby'])[1 + i % 4],
       (ARRAY['aggressive','normal','light'])[1 + i % 3],
       (ARRAY['fallback','llm','forced'])[1 + i % 3],
       'bench: recorded decision ' || i || ' with a reason of a realistic length, naming the '
         || 'volatility, the open sessions and the sources that were unhealthy',
       jsonb_build_object('load1', 0.4, 'volatility', (i % 7) * 0.8, 'sessions', jsonb_build_array('london')),
       jsonb_build_object('modes', jsonb_build_array('crypto','forex','hybrid','standby')),
       ARRAY['london','newyork'], 'london-newyork',
       (ARRAY['crypto','forex','hybrid','standby'])[1 + (i + 3) % 4],
       300, now() - (201 - i) * interval '5 minutes' + interval '300 seconds', false,
       (ARRAY['succeeded','partial','failed','no_action'])[1 + i % 4],
       now() - (201 - i) * interval '5 minutes' + interval '2 seconds'
  FROM generate_series(1, 200) AS i;
INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, http_status,
                      attempts, started_at, finished_at, latency_ms)
SELECT d.id, w, 'orch-' || d.id || '-' || w, '{}'::jsonb, 'sent', 200, 1,
       d.decided_at, d.decided_at + interval '150 ms', 150
  FROM decisions d, unnest(ARRAY['crypto-normal-scan','health-monitor-check']) AS w;
INSERT INTO probes (source, probed_at, ok, latency_ms, http_status)
SELECT (ARRAY['dexscreener','pumpfun','tradermade','birdeye'])[1 + i % 4],
       now() - i * interval '30 seconds', i % 5 <> 0, 80 + i % 50, 200
  FROM generate_series(1, 800) AS i;
UPDATE worker_state SET last_decision_id = (SELECT max(id) FROM decisions), current_mode = 'crypto',
       heartbeat_at = now(), started_at = now(),
       sources = '{"dexscreener":{"ok":true,"latency_ms":80},"pumpfun":{"ok":false,"error":"HTTP 403"},
                   "tradermade":{"ok":true,"latency_ms":90},"birdeye":{"ok":true,"latency_ms":70}}';
SQL

say "starting orch-api ($PROCS processes) and hello ($PROCS processes)"
stack_start_api "$PROCS" || die "orch-api did not start"
hello_args=(--socket "$T/run/hello.sock" --processes "$PROCS" --socket-mode 0660)
[ "$(id -u)" = 0 ] && hello_args+=(--socket-group "$(id -gn www-data)")
stack_spawn hello "$T/log/hello.log" "$T/hello" "${hello_args[@]}"

mkdir -p "$T/nginx/orchestrator.d"
cat > "$T/nginx/orchestrator.d/bench.conf" <<EOF
# scripts/bench.sh: the reference FastCGI program, set up like the API
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

# static twins: each API answer saved as a file, just before its run
mkdir -p "$T/www/bench"
chmod 755 "$T/www/bench"
twin() { curl -s "$BASE$1" -o "$T/www/bench/$2" && chmod 644 "$T/www/bench/$2"; }

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

# bench NAME PATH: wrk it; sets RPS[NAME] P99[NAME] ERRS[NAME]
declare -A RPS=() P99=() ERRS=() SIZE=()
bench() {
  local name=$1 path=$2 out
  wrk -t"$THREADS" -c"$CONNS" -d1s "$BASE$path" >/dev/null 2>&1   # warm up
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$BASE$path" 2>&1)
  RPS[$name]=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  P99[$name]=$(echo "$out" | awk '$1 == "99%" {print $2}')
  ERRS[$name]=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
  SIZE[$name]=$(curl -s "$BASE$path" | wc -c)
  printf '%-22s %-24s %10s req/s  p99 %-9s %6s bytes%s\n' "$name" "$path" "${RPS[$name]:-?}" "${P99[$name]:-?}" \
    "${SIZE[$name]}" "${ERRS[$name]:+  non-2xx: ${ERRS[$name]}}"
}
echo
echo "wrk -t$THREADS -c$CONNS -d${SECS}s --latency (one second of warm-up each):"
# Each API path runs right after its own hello run and before its static
# twin, so that the ratios compare runs seconds apart (a busy machine drifts).
for spec in "status /status status.json" "decisions /decisions?limit=50 decisions.json" \
            "metrics /metrics metrics.txt"; do
  read -r name path file <<< "$spec"
  twin "$path" "$file"
  bench "hello-$name" /bench/hello
  bench "$name" "$path"
  bench "static-$name" "/bench/$file"
  bench "hello-same-$name" "/bench/hello?bytes=${SIZE[$name]}"
done

echo
MISSED=0
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { exit !(r != "n/a" && r >= t) }'; }
# wrk's latencies ("850.00us", "1.23ms", "1.02s") in milliseconds
to_ms() { echo "${1:-}" | awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0; else if ($1 ~ /s$/) v *= 1000; print v }'; }
# a run with errors measured something else than the answer: it does not count
for n in "${!RPS[@]}"; do
  if [ -n "${ERRS[$n]:-}" ] && [ "${ERRS[$n]}" != 0 ]; then
    echo "bench: $n had ${ERRS[$n]} non-2xx answers: its figures are not valid"
    MISSED=1
  fi
done
printf '%-12s %12s %12s %18s   %s\n' api "api/hello" "api/static" "api/hello-same-size" "p99: api / hello / static (ms)"
for n in status decisions metrics; do
  rh=$(ratio "${RPS[$n]}" "${RPS[hello-$n]}")
  rs=$(ratio "${RPS[$n]}" "${RPS[static-$n]}")
  rz=$(ratio "${RPS[$n]}" "${RPS[hello-same-$n]}")
  mh=ok ms=ok
  meets "$rh" 0.8 || { mh=MISSED; MISSED=1; }
  meets "$rs" 0.25 || { ms=MISSED; MISSED=1; }
  pa=$(to_ms "${P99[$n]:-}") ph=$(to_ms "${P99[hello-$n]:-}") ps=$(to_ms "${P99[static-$n]:-}")
  printf '%-12s %6s %-6s %6s %-6s %10s   %s / %s / %s (x%s of hello)\n' "$n" "$rh" "$mh" "$rs" "$ms" "$rz" \
    "$pa" "$ph" "$ps" "$(ratio "$pa" "$ph")"
done
echo "(targets: api/hello >= 0.80, api/static >= 0.25; api/hello-same-size compares with the bare"
echo " program sending a body of the API answer's size, which shows what the bytes alone cost;"
echo " p99 x of hello: how much longer the API's slowest 1% take than the bare program's)"

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
