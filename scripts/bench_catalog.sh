#!/usr/bin/env bash
# Benchmark (not a test): the cost of a large workflow catalog.  A private
# stack (PostgreSQL, orch-api, nginx, the stand-in and one worker whose LLM
# is the stand-in's) runs BENCH_DECISIONS (20) forced decisions with the
# seed catalog (8 workflows), then the same with a catalog of 200
# (CATALOG_MAX: 100 crypto scans, 96 forex session scans, 2 cross-market, 2
# system; the one of tests/e2e/e2e_catalog.sh), and prints for each:
#   - the decision cycle (the worker's cycle.done: total, and its decide +
#     LLM + record part), p50 / p95 / max;
#   - the prompt: bytes, the stand-in's token count (bytes / 4) and, when
#     Node and the llama3-tokenizer-js package are at hand (installed from
#     the npm registry into BENCH_TOKENIZER_DIR, default
#     /var/cache/ai-orchestrator/tokenizer), llama-3's own count (the
#     tokenizer of Groq's llama-3.3-70b-versatile);
#   - /metrics, /status and /workflows/available: bytes plain and gzip,
#     series, and the time of an uncached answer.
#
# Usage: scripts/bench_catalog.sh     (as root, like run.sh; builds ./build if needed)
# Environment: BENCH_DECISIONS (20), BUILD_DIR (./build), BENCH_TOKENIZER_DIR,
#   BENCH_NO_TOKENIZER=1 to skip llama-3's count.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$repo/build}
N=${BENCH_DECISIONS:-20}
TOKDIR=${BENCH_TOKENIZER_DIR:-/var/cache/ai-orchestrator/tokenizer}
say() { echo "bench_catalog: $*" >&2; }
die() { say "$*"; exit 1; }

# shellcheck source=bench_build.sh
. "$repo/scripts/bench_build.sh"
bench_build

# llama-3's tokenizer (optional): a count of the prompt as Groq's model reads it
tokenizer=
if [ -z "${BENCH_NO_TOKENIZER:-}" ] && command -v node >/dev/null; then
  if [ ! -d "$TOKDIR/node_modules/llama3-tokenizer-js" ]; then
    mkdir -p "$TOKDIR" && (cd "$TOKDIR" && npm install --silent --no-audit --no-fund llama3-tokenizer-js@1.2.0 >/dev/null 2>&1) ||
      say "llama3-tokenizer-js could not be installed: llama-3 token counts left out"
  fi
  [ -d "$TOKDIR/node_modules/llama3-tokenizer-js" ] && tokenizer=$TOKDIR
fi
# llama_tokens FILE: llama-3 tokens of the system and user messages in FILE (a chat request body)
llama_tokens() {
  [ -n "$tokenizer" ] || { echo "-"; return; }
  (cd "$tokenizer" && node --input-type=module -e '
    import t from "llama3-tokenizer-js"; import fs from "fs";
    const b = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    console.log(b.messages.reduce((n, m) => n + t.encode(m.content, {bos: false, eos: false}).length, 0));' "$1")
}

E2E_NAME=bench_catalog
export top_srcdir=$repo top_builddir=$BUILD
# shellcheck source=../tests/lib/e2e.sh
. "$repo/tests/lib/e2e.sh"
e2e_begin >/dev/null

PG_FAST=1 stack_start_pg >/dev/null || die "PostgreSQL did not start"
standin_start
TOKEN=$(rnd 24)
CAT=$T/catalog.json
cp "$repo/catalog/default.json" "$CAT"
export CATALOG_FILE=$CAT ORCHESTRATOR_API_TOKEN=$TOKEN LOG_LEVEL=info LOAD_HIGH=1000
export DEXSCREENER_BASE_URL=$SA/dex PUMPFUN_BASE_URL= TRADERMADE_BASE_URL=$SA/tradermade TRADERMADE_API_KEY=test-tm-key
export BIRDEYE_BASE_URL= DECISION_MIN_SECONDS=5 DECISION_MAX_SECONDS=600 HEARTBEAT_SECONDS=1
export LLM_BASE_URL=$SA/llm/v1 LLM_API_KEY=k LLM_MAX_CALLS_PER_HOUR=4000 N8N_BASE_URL=$SA/n8n
stack_start_api 2 >/dev/null || die "orch-api did not start"
for _ in 1 2 3; do stack_start_nginx "$(stack_free_port)" >/dev/null && break; done
[ -n "$STACK_PORT" ] || die "nginx did not start"
BASE=http://127.0.0.1:$STACK_PORT
llm() { standin_config "{\"llm_content\":{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"$1\"],\"next_decision_seconds\":600,\"reason\":\"bench\"}}" >/dev/null; }
llm crypto-normal-scan
stack_start_worker || die "orch-worker did not start"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$BASE/control/stop"

"$PYTHON" - "$T/catalog200.json" <<'EOF'
import json, sys
ints = ["aggressive", "normal", "light", "any"]
sess = [[], ["london"], ["newyork"], ["sydney", "tokyo"], ["london", "newyork"]]
wfs = [{"name": f"crypto/scan-{i:03d}", "title": f"Crypto scan {i} of the desk, pairs group {i % 7}", "market": "crypto",
        "intensity": ints[i % 4], "needs": ["dexscreener"], "parameters": {"group": i % 7}, "cost": 1 + (i % 3) * 0.5}
       for i in range(100)]
wfs += [{"name": f"fx/session-{i:03d}", "title": f"Forex scan {i}", "market": "forex", "sessions": sess[i % 5],
         "needs": ["tradermade"]} for i in range(96)]
for i in range(2):
    wfs += [{"name": f"cross-{i}", "market": "both", "intensity": "aggressive", "concurrency": "forbid"},
            {"name": f"health-{i}", "market": "system"}]
json.dump({"version": "bench-200", "workflows": wfs}, open(sys.argv[1], "w"))
EOF

# pct P FILE: the P-th percentile of the numbers in FILE
pct() { sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int(p/100*NR+0.999); if (i<1) i=1; print a[i]}'; }
# run LABEL: N forced decisions, then the figures
run() {
  local label=$1 d0 n i
  d0=$(last_decision)
  local lines0
  lines0=$(grep -c '"event":"cycle.done"' "$T/log/worker.log")
  for ((i = 0; i < N; i++)); do force_new 30 >/dev/null || die "no decision ($label)"; done
  grep '"event":"cycle.done"' "$T/log/worker.log" | tail -n +"$((lines0 + 1))" |
    "$PYTHON" -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l); print(r["total_ms"], r["store_ms"])' > "$T/cycles.txt"
  cut -d' ' -f1 "$T/cycles.txt" > "$T/total.txt"
  cut -d' ' -f2 "$T/cycles.txt" > "$T/store.txt"
  curl -s "$SA/_standin/requests?prefix=/llm/&method=POST&limit=1" | jpy 'rows(d)[-1]["body"]' > "$T/llm.json"
  local pbytes ptok_standin ptok_llama
  pbytes=$("$PYTHON" -c 'import json, sys; b = json.load(open(sys.argv[1])); print(sum(len(m["content"]) for m in b["messages"]))' "$T/llm.json")
  ptok_standin=$(sql "SELECT max(prompt_tokens) FROM llm_calls c WHERE c.decision_id > $d0")
  ptok_llama=$(llama_tokens "$T/llm.json")
  sql "UPDATE worker_state SET heartbeat_at = now()" >/dev/null          # the API's caches dropped
  sleep 0.5
  local page line
  echo "== $label: $(sql "SELECT (catalog->>'workflows') FROM worker_state") workflows, $N forced decisions"
  printf '  cycle (ms):            p50 %s   p95 %s   max %s\n' "$(pct 50 "$T/total.txt")" "$(pct 95 "$T/total.txt")" "$(pct 100 "$T/total.txt")"
  printf '  decide+LLM+record (ms): p50 %s   p95 %s   max %s\n' "$(pct 50 "$T/store.txt")" "$(pct 95 "$T/store.txt")" "$(pct 100 "$T/store.txt")"
  printf '  prompt: %s bytes, %s tokens (bytes/4), %s llama-3 tokens\n' "$pbytes" "$ptok_standin" "$ptok_llama"
  for page in /metrics /status /workflows/available; do
    line=$(curl -s -o "$T/page" -w '%{time_total}' "$BASE$page")
    local gz series=""
    gz=$(curl -s -H 'Accept-Encoding: gzip' "$BASE$page" | wc -c)
    [ "$page" = /metrics ] && series=", $(grep -vc '^#' "$T/page") series"
    printf '  %-20s %7s bytes (gzip %6s)%s, uncached answer %s ms\n' "$page" "$(wc -c < "$T/page")" "$gz" "$series" \
      "$("$PYTHON" -c "print(round($line * 1000))")"
    sql "UPDATE worker_state SET heartbeat_at = now()" >/dev/null
    sleep 0.3
  done
}

run "seed catalog"
cp "$T/catalog200.json" "$CAT"
standin_config "{\"n8n_paths\":$(jpy "json.dumps([w['name'] for w in d['workflows']])" < "$CAT")}" >/dev/null
kill -HUP "${STACK_PID[worker]}"
loaded() { [ "$(sql "SELECT catalog->>'workflows' FROM worker_state")" = 200 ]; }
wait_for 20 loaded || die "the 200-workflow catalog was not loaded"
llm crypto/scan-061
run "200 workflows"
PASSED=1
exit 0
